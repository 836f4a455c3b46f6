"""A command that runs passes over due ids until SIGTERM (or once), printing progress per id."""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class DuePassCommand(BaseCommand):
    """Subclasses name what a pass takes (``due``) and what it does with each id (``one``)."""

    label = "item"
    default_interval = 2.0

    def due(self) -> list[int]:
        raise NotImplementedError

    def one(self, item_id: int) -> str:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run a single pass and exit.")
        parser.add_argument("--interval", type=float, default=self.default_interval, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> str:
        self.shutdown = False
        signal.signal(signal.SIGTERM, self.on_signal)
        outcomes: dict[str, int] = {}
        while True:
            self.handle_one(outcomes)
            if options["once"] or self.shutdown:
                done = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
                return f"{self.label}: {done or 'nothing due'}"
            self.pause(options["interval"])

    def handle_one(self, outcomes: dict[str, int]) -> None:
        due = self.due()
        for done, item_id in enumerate(due, start=1):
            outcome = self.one(item_id)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            self.stdout.write(f"[{done}/{len(due)}] {self.label} {item_id}: {outcome}")
            if self.shutdown:
                return

    def pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.shutdown and time.monotonic() < deadline:
            time.sleep(0.1)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.shutdown = True
