from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from copytrading.management.targets import add_target_arguments, apply


class Command(BaseCommand):
    help = "Resume a leader, a follower's accounts, one follow, all copies, or switch exits-only off. Audited."

    def add_arguments(self, parser: CommandParser) -> None:
        add_target_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> str:
        return apply(options, paused=False)
