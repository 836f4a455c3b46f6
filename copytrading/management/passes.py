"""Commands that run a pass until SIGTERM (or once): the loop, and the pass over due ids with
progress per id."""

from __future__ import annotations

import signal
import time
from abc import ABC, abstractmethod
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class LoopCommand(BaseCommand, ABC):
    """Runs ``one_pass`` every ``--interval`` seconds until SIGTERM, or once with ``--once``; a
    SIGTERM ends the loop between passes (and between ids, for passes that check ``shutdown``)."""

    default_interval = 2.0

    def start(self) -> None:
        """Called once before the first pass."""

    @abstractmethod
    def one_pass(self) -> None: ...

    @abstractmethod
    def summary(self) -> str: ...

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run a single pass and exit.")
        parser.add_argument("--interval", type=float, default=self.default_interval, help="Seconds between passes.")

    def handle(self, *args: Any, **options: Any) -> str:
        self.shutdown = False
        signal.signal(signal.SIGTERM, self.on_signal)
        self.start()
        while True:
            self.one_pass()
            if options["once"] or self.shutdown:
                return self.summary()
            self.pause(options["interval"])

    def pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.shutdown and time.monotonic() < deadline:
            time.sleep(0.1)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.shutdown = True


class DuePassCommand(LoopCommand):
    """Subclasses name what a pass takes (``due``) and what it does with each id (``one``)."""

    label = "item"

    @abstractmethod
    def due(self) -> list[int]: ...

    @abstractmethod
    def one(self, item_id: int) -> str: ...

    def start(self) -> None:
        self.outcomes: dict[str, int] = {}

    def one_pass(self) -> None:
        due = self.due()
        for done, item_id in enumerate(due, start=1):
            outcome = self.one(item_id)
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            self.stdout.write(f"[{done}/{len(due)}] {self.label} {item_id}: {outcome}")
            if self.shutdown:
                return

    def summary(self) -> str:
        done = ", ".join(f"{n} {what}" for what, n in sorted(self.outcomes.items()))
        return f"{self.label}: {done or 'nothing due'}"
