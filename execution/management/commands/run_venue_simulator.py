"""Serve the local simulated venue until SIGTERM/SIGINT (docs/simulator.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from execution.simulator import Scenario, Venue, scenario_from_activity_tape, serve


class Command(BaseCommand):
    help = "Run the simulated Polymarket venue (CLOB V2 + Data API subset) on 127.0.0.1."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8765, help="TCP port (0 picks a free one).")
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on.")
        parser.add_argument("--scenario", type=Path, help="Scenario JSON file to seed markets, books, balances.")
        parser.add_argument(
            "--tape", type=Path, help="A Data API /activity tape (JSON list): markets and deep books for its trades."
        )
        parser.add_argument("--chain-id", type=int, default=137, help="EIP-712 chain id orders must be signed for.")
        parser.add_argument("--auth-window", type=int, default=30, help="Accepted L1/L2 timestamp skew, seconds.")
        parser.add_argument("--seed", type=int, default=0, help="Seed for ids, hashes and fault probabilities.")
        parser.add_argument(
            "--chain", type=Path, help="A run_local_chain file: settle every match on that chain from its operator."
        )
        parser.add_argument(
            "--chain-confirmations", type=int, default=2, help="Blocks on top of a settlement before CONFIRMED."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            venue = Venue(
                chain_id=options["chain_id"],
                auth_window_s=options["auth_window"],
                seed=options["seed"],
                chain=options["chain"],
                chain_confirmations=options["chain_confirmations"],
            )
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"could not use the chain {options['chain']}: {exc}") from exc
        try:
            if options["tape"] is not None:
                venue.load_scenario(scenario_from_activity_tape(json.loads(options["tape"].read_text())))
            if options["scenario"] is not None:
                venue.load_scenario(Scenario.from_file(options["scenario"]))
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"could not load the scenario: {exc}") from exc

        def ready(url: str) -> None:
            settles = f", settling on {venue.chain.settlement.info.rpc_url}" if venue.chain else ""
            self.stdout.write(f"venue simulator listening on {url} ({venue.state()['markets']} markets{settles})")
            self.stdout.flush()

        try:
            serve(venue, host=options["host"], port=options["port"], on_ready=ready)
        finally:
            venue.close()
        self.stdout.write("venue simulator stopped")
