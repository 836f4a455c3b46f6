from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.servers.basehttp import WSGIServer, get_internal_wsgi_application, run

from copytrading.demo import demo_seed, tape_rows
from copytrading.embedded import embedded_replay, embedded_start
from execution.simulator.chain.node import AnvilFailed, AnvilNotInstalled


class Command(BaseCommand):
    help = (
        "Run PolyHunter in one process (embedded mode): the local simulated venue, in-process workers, "
        "the scheduler and the web pages. --demo seeds demo users and follows and replays the recorded tape."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="Web port (default 8000).")
        parser.add_argument("--demo", action="store_true", help="Seed the demo and replay the leader tape.")
        parser.add_argument("--speed", type=float, default=60.0, help="Tape replay speed (default 60x).")
        parser.add_argument("--no-simulator", action="store_true", help="Use the configured venue instead.")
        parser.add_argument(
            "--chain", action="store_true", help="Settle the venue's matches on a local anvil node (chain id 137)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = tape_rows() if options["demo"] else None
        try:
            running = embedded_start(rows=rows, start_simulator=not options["no_simulator"], chain=options["chain"])
        except (AnvilNotInstalled, AnvilFailed) as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot start the simulated venue: {exc} (is another demo running?)") from None
        signal.signal(signal.SIGTERM, self.on_signal)
        try:
            url = f"http://127.0.0.1:{options['port']}/"
            if running.simulator is not None:
                self.stdout.write(f"simulated venue: {running.simulator.url}")
            if running.chain is not None:
                self.stdout.write(f"local chain (settles every match): {running.chain.info.rpc_url}")
            if options["demo"] and rows is not None:
                seed = demo_seed(rows=rows)
                if running.simulator is not None:
                    # alice and dave trade their own (simulated) pUSD: fund their wallets at the venue.
                    running.simulator.set_balance(seed.alice_signer, pusd="5000")
                    running.simulator.set_balance(seed.dave_wallet, pusd="2000")
                embedded_replay(running=running, rows=rows, speed=options["speed"])
                self.stdout.write(self.style.SUCCESS(f"\nPolyHunter demo: {url}"))
                self.stdout.write(
                    f"  staff console: {url}admin/console/ (login {seed.logins[0][0]} / {seed.logins[0][1]})"
                )
                for name, password in seed.logins[1:]:
                    self.stdout.write(f"  follower: {name} / {password}")
                self.stdout.write(
                    f"  replaying {len(rows)} tape rows of {', '.join(seed.leaders)} at {options['speed']:g}x"
                )
            else:
                self.stdout.write(self.style.SUCCESS(f"PolyHunter: {url}"))
            self.stdout.write("Ctrl-C to stop.\n")
            self.stdout.flush()
            handler = StaticFilesHandler(get_internal_wsgi_application())
            run("127.0.0.1", options["port"], handler, ipv6=False, threading=True, server_cls=WSGIServer)
        except KeyboardInterrupt:
            self.stdout.write("stopping…")
        finally:
            running.stop()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt
