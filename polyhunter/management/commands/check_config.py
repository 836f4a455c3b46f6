from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from polyhunter.diagnostics import runtime_problems


class Command(BaseCommand):
    help = "Print the effective configuration (secrets redacted) and exit non-zero on any problem."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--offline", action="store_true", help="Skip the database/Redis reachability checks.")

    def handle(self, *args: Any, **options: Any) -> None:
        # A malformed or misnamed variable never gets here: settings refuse to load and
        # manage.py prints the problems and exits 2.
        rows = settings.CONFIG.redacted()
        width = max(len(name) for name, _, _ in rows)
        for name, value, origin in rows:
            self.stdout.write(f"{name.ljust(width)}  {value or '(empty)'}  [{origin}]")
        mode = "embedded (SQLite, in-process broker)" if settings.EMBEDDED else "production (PostgreSQL)"
        broker = "Redis" if settings.REDIS_URL else "in-process"
        self.stdout.write(f"\nmode: {mode}; broker: {broker}; run mode: {settings.RUN_MODE} ({settings.DEPLOYMENT_ID})")
        problems = [] if options["offline"] else runtime_problems()
        if problems:
            raise CommandError("configuration problems:\n" + "\n".join(f"  - {p}" for p in problems))
        self.stdout.write(self.style.SUCCESS("configuration OK"))
