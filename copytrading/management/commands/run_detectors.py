from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from copytrading.detection.chain import chain_web3
from copytrading.detection.data_api import DataApiClient
from copytrading.detection.runner import DetectorRunner


class Command(BaseCommand):
    help = (
        "Run the detectors in this process: poll the Data API for every due leader and scan "
        "confirmed Polygon blocks (when POLYGON_RPC_URL is set), every DETECT_POLL_SECONDS. "
        "Stops cleanly on SIGTERM or SIGINT after the current tick."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One tick, then exit.")
        parser.add_argument("--no-data-api", action="store_true", help="Do not poll the Data API.")
        parser.add_argument("--no-chain", action="store_true", help="Do not scan the chain.")

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

        def shutdown(signum: int, frame: FrameType | None) -> None:
            runner.stop.set()

        signal.signal(signal.SIGTERM, shutdown)
        signal.signal(signal.SIGINT, shutdown)
        self.stdout.write(f"detectors running (data api: {runner.client is not None}, chain: {chain})")
        ticks = runner.run()
        if runner.client is not None:
            runner.client.close()
        return f"detectors stopped after {ticks} ticks"
