from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from copytrading.detection.replay import tape_load, tape_replay
from polyhunter.lib.addresses import InvalidAddress, normalize_address

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Feed a recorded Data API /activity tape through detection (source replay). Each trade "
        "happens when it is fed, so nothing is stale; --speed X keeps the tape's gaps divided by X."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="JSON list of /activity (or /trades) rows.")
        parser.add_argument("--speed", type=float, default=0.0, help="0 (default): as fast as possible.")
        parser.add_argument("--leader", default=None, help="Replay only this wallet's rows.")
        parser.add_argument(
            "--no-create-leaders",
            action="store_true",
            help="Ignore rows of wallets that are not watched yet instead of adding them as leaders.",
        )

    def handle(self, *args: Any, **options: Any) -> str:
        speed: float = options["speed"]
        if speed < 0:
            raise CommandError("--speed must be 0 (as fast as possible) or positive")
        try:
            leader = normalize_address(options["leader"]) if options["leader"] else None
            rows = tape_load(options["file"])
        except (InvalidAddress, OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        summary = tape_replay(
            rows=rows,
            speed=speed,
            leader=leader,
            create_leaders=not options["no_create_leaders"],
            progress=self.progress,
        )
        self.stderr.write("")
        return "\n".join(summary.lines())

    def progress(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        self.stderr.write(f"\rreplay [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}", ending="")
        self.stderr.flush()
