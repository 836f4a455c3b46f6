from __future__ import annotations

import errno
import signal
import socket
from types import FrameType
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.servers.basehttp import WSGIServer, get_internal_wsgi_application, run

from copytrading.demo import demo_seed, tape_rows
from copytrading.embedded import embedded_demo_feed, embedded_start
from copytrading.leaders.services import leader_profiles_refresh_soon
from execution.simulator.chain.node import AnvilFailed, AnvilNotInstalled

DEFAULT_WEB_PORT = 8000


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Command(BaseCommand):
    help = (
        "Run PolyHunter in one process (embedded mode): the local simulated venue, in-process workers, "
        "the scheduler and the web pages. --demo seeds demo users and follows, and its leaders keep trading."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=None, help="Web port (default 8000, or a free one when 8000 is taken)."
        )
        parser.add_argument("--demo", action="store_true", help="Seed the demo; its leaders keep trading.")
        parser.add_argument(
            "--pace", type=float, default=10.0, help="Seconds between demo leader trades, on average (default 10)."
        )
        parser.add_argument("--no-simulator", action="store_true", help="Use the configured venue instead.")
        chain = parser.add_mutually_exclusive_group()
        chain.add_argument(
            "--chain",
            action="store_true",
            help="Settle the venue's matches on a local anvil node (chain id 137); the default with --demo.",
        )
        chain.add_argument(
            "--no-chain", action="store_true", help="No local chain (the demo then has no fleet follower)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        web_port = self._web_port(options["port"])
        rows = tape_rows() if options["demo"] else None
        sim_port = settings.SIMULATOR_PORT
        if not options["no_simulator"] and not port_free(sim_port):
            self.stdout.write(f"port {sim_port} is taken (another demo?): the simulated venue takes a free port")
            sim_port = 0
        try:
            running = embedded_start(
                rows=rows,
                start_simulator=not options["no_simulator"],
                simulator_port=sim_port,
                # The demo's fleet follower (erin) settles on the chain: on unless asked not to.
                chain=options["chain"] or (options["demo"] and not options["no_chain"]),
            )
        except (AnvilNotInstalled, AnvilFailed) as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot start the simulated venue: {exc}") from None
        signal.signal(signal.SIGTERM, self.on_signal)
        try:
            url = f"http://127.0.0.1:{web_port}/"
            if running.simulator is not None:
                self.stdout.write(f"simulated venue: {running.simulator.url}")
            if running.chain is not None:
                self.stdout.write(f"local chain (settles every match): {running.chain.info.rpc_url}")
            if options["demo"] and rows is not None:
                self._demo(running, rows, url, pace=options["pace"])
            else:
                self.stdout.write(self.style.SUCCESS(f"PolyHunter: {url}"))
            self.stdout.write("Ctrl-C to stop.\n")
            self.stdout.flush()
            handler = StaticFilesHandler(get_internal_wsgi_application())
            run("127.0.0.1", web_port, handler, ipv6=False, threading=True, server_cls=WSGIServer)
        except KeyboardInterrupt:
            self.stdout.write("stopping…")
        finally:
            running.stop()

    def _web_port(self, asked: int | None) -> int:
        if asked is not None:
            return asked
        if port_free(DEFAULT_WEB_PORT):
            return DEFAULT_WEB_PORT
        chosen = free_port()
        self.stdout.write(f"port {DEFAULT_WEB_PORT} is taken: serving the pages on {chosen} instead")
        return chosen

    def _demo(self, running: Any, rows: list[dict[str, Any]], url: str, *, pace: float) -> None:
        seed = demo_seed(rows=rows, chain=running.chain)
        if running.simulator is not None:
            # alice and dave trade their own (simulated) pUSD: fund their wallets at the venue.
            running.simulator.set_balance(seed.alice_signer, pusd="5000")
            running.simulator.set_balance(seed.dave_wallet, pusd="2000")
            feed = embedded_demo_feed(running=running, rows=rows, pace=pace)
            leader_profiles_refresh_soon()
            names = ", ".join(leader.name for leader in feed.leaders)
        else:
            names = ", ".join(seed.leaders)
        self.stdout.write(self.style.SUCCESS(f"\nPolyHunter demo: {url}"))
        self.stdout.write(f"  what you see: leaders {names} keep trading the recorded tape's markets;")
        self.stdout.write("  followers' copies appear within seconds, each explained in plain words.")
        self.stdout.write(f"  start here: {url}signup/ (paper trading needs no keys), then {url}leaders/")
        self.stdout.write(f"  followers: {', '.join(f'{n} / {p}' for n, p in seed.logins[1:])}")
        self.stdout.write(
            f"  staff console: {url}admin/console/ (login {seed.logins[0][0]} / {seed.logins[0][1]}):"
            " 'Simulate a leader trade' makes one now"
        )
        self.stdout.write(f"  a leader trade every ~{pace:g} s; the log below says each one and a summary each minute")

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt
