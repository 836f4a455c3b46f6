from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from copytrading.archive import archive_run, parse_age

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Move finished copy trades, leader trades and audit events older than --older-than to the archive "
        "tables, in batches (safe to kill and run again: each row is archived once). Rows an open position "
        "needs stay. Then VACUUM (ANALYZE) on PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", required=True, help="Age past which rows are archived, e.g. 90d or 12h.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would move; change nothing.")
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args: Any, **options: Any) -> str:
        try:
            older_than = parse_age(options["older_than"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        summary = archive_run(
            older_than=older_than,
            dry_run=options["dry_run"],
            batch_size=options["batch_size"],
            progress=self.progress,
        )
        self.stderr.write("")
        return "\n".join([f"cutoff {summary.cutoff:%Y-%m-%d %H:%M:%S} UTC", *summary.lines()])

    def progress(self, table: str, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        self.stderr.write(f"\rarchive {table} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}", ending="")
        self.stderr.flush()
