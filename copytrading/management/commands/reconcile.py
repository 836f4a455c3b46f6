from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from copytrading.deployments import deployment_current
from copytrading.pipeline.reconcile import reconcile_due


class Command(BaseCommand):
    help = (
        "Ask the venue about this deployment's orders whose outcome is not known yet (SIGNED, UNKNOWN, "
        "DELAYED, LIVE) and follow fills to CONFIRMED. Loops every 2 s until SIGTERM; --once runs one pass."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run a single pass and exit.")
        parser.add_argument("--interval", type=float, default=2.0, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> str:
        self.shutdown = False
        signal.signal(signal.SIGTERM, self.on_signal)
        deployment = deployment_current()
        total = 0
        while True:
            total += self.handle_one(deployment)
            if options["once"] or self.shutdown:
                return f"reconciled {total} row(s) for deployment {deployment.key}"
            self.pause(options["interval"])

    def handle_one(self, deployment: Any) -> int:
        looked = reconcile_due(deployment=deployment)
        if looked:
            self.stdout.write(f"looked at {looked} row(s)")
        return looked

    def pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.shutdown and time.monotonic() < deadline:
            time.sleep(0.1)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.shutdown = True
