from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from copytrading.detection.chain import chain_web3
from copytrading.detection.chain_ws import ChainSubscriber
from copytrading.detection.data_api import DataApiClient
from copytrading.detection.runner import DetectorRunner


class Command(BaseCommand):
    help = (
        "Run the detectors in this process: poll the Data API for every due leader and scan "
        "confirmed Polygon blocks (when POLYGON_RPC_URL is set) every DETECT_POLL_SECONDS, plus a "
        "log subscription when POLYGON_WS_URL is set. Stops cleanly on SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One tick, then exit.")
        parser.add_argument("--no-data-api", action="store_true", help="Do not poll the Data API.")
        parser.add_argument("--no-chain", action="store_true", help="Do not read the chain.")
        parser.add_argument("--no-ws", action="store_true", help="Do not subscribe over POLYGON_WS_URL.")

    def handle(self, *args: Any, **options: Any) -> str:
        chain = bool(settings.POLYGON_RPC_URL) and not options["no_chain"]
        runner = DetectorRunner(
            w3=chain_web3() if chain else None,
            client=None if options["no_data_api"] else DataApiClient(),
            every_seconds=settings.DETECT_POLL_SECONDS,
        )
        if options["once"]:
            report = runner.handle_one_tick()
            return f"{report.polled} leaders polled, {report.new_trades} new trades, next block {report.next_block}"
        subscriber = None
        if runner.w3 is not None and settings.POLYGON_WS_URL and not options["no_ws"]:
            subscriber = ChainSubscriber(url=settings.POLYGON_WS_URL, w3=runner.w3)
        threads = [threading.Thread(target=subscriber.run, name="chain-ws", daemon=True)] if subscriber else []

        def shutdown(signum: int, frame: FrameType | None) -> None:
            runner.stop.set()
            if subscriber:
                subscriber.stop.set()

        signal.signal(signal.SIGTERM, shutdown)
        signal.signal(signal.SIGINT, shutdown)
        for thread in threads:
            thread.start()
        self.stdout.write(
            f"detectors running (data api: {runner.client is not None}, chain: {chain}, ws: {subscriber is not None})"
        )
        ticks = runner.run()
        for thread in threads:
            thread.join(timeout=10)
        if runner.client is not None:
            runner.client.close()
        return f"detectors stopped after {ticks} ticks"
