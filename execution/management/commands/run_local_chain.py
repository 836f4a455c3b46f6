"""Run the local Polygon (anvil + the Polymarket-shaped contracts) until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from execution.simulator.chain.local import LocalChain, WalletFunding, funding_from_file, local_chain_fund
from execution.simulator.chain.node import AnvilFailed, AnvilNotInstalled


def _wallet(text: str) -> tuple[str, str]:
    name, sep, address = text.partition("=")
    if not sep or not address.startswith("0x") or len(address) != 42:
        raise CommandError(f"--wallet takes NAME=0xADDRESS, not {text!r}")
    return name, address


class Command(BaseCommand):
    help = "Run anvil (chain id 137) with pUSD, ConditionalTokens and the two CTF exchanges deployed."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8545, help="JSON-RPC port, HTTP and WebSocket (0: a free one).")
        parser.add_argument("--out", type=Path, required=True, help="Write the chain's description (JSON) here.")
        parser.add_argument(
            "--block-time",
            type=float,
            default=1.0,
            help="Seconds between empty blocks (0: blocks only for transactions).",
        )
        parser.add_argument("--funding", type=Path, help='JSON: {"wallets": [{"name", "address", "pol", "pusd"}]}.')
        parser.add_argument("--wallet", action="append", default=[], help="NAME=0xADDRESS to fund (repeatable).")
        parser.add_argument("--pol", default="10", help="POL for each --wallet (default 10).")
        parser.add_argument("--pusd", default="1000", help="pUSD for each --wallet (default 1000).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            pol, pusd = Decimal(options["pol"]), Decimal(options["pusd"])
        except InvalidOperation as exc:
            raise CommandError("--pol and --pusd are amounts in units, e.g. 10 or 1000.5") from exc
        wallets = [WalletFunding(name, address, pol, pusd) for name, address in map(_wallet, options["wallet"])]
        try:
            if options["funding"] is not None:
                wallets = funding_from_file(options["funding"]) + wallets
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"could not read the funding file: {exc}") from exc
        chain = LocalChain(port=options["port"], block_time=options["block_time"] or None)
        try:
            chain.start()
        except (AnvilNotInstalled, AnvilFailed) as exc:
            raise CommandError(str(exc)) from exc
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        try:
            local_chain_fund(chain, wallets)
            chain.info.write(options["out"])
            self.stdout.write(
                f"local chain listening on {chain.info.rpc_url} (chain id {chain.info.chain_id}, "
                f"{len(wallets)} wallets funded); wrote {options['out']}"
            )
            self.stdout.flush()
            stop.wait()
        finally:
            chain.stop()
        self.stdout.write("local chain stopped")
