from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.keyring import get_keyring, keyring_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt stored secrets with the current (first) ENCRYPTION_KEYS key. Idempotent: "
        "each row is re-sealed in its own transaction, so it can be killed and rerun."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=None, help="Rotate at most this many rows.")

    def handle(self, *args: Any, **options: Any) -> None:
        current = get_keyring().current_id

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"\rrotated {done}/{total}", ending="")
            self.stdout.flush()

        result = keyring_rotate(limit=options["limit"], progress=progress)
        self.stdout.write("")
        self.stdout.write(
            f"rotated {result.rotated} row(s) to key {current!r}; {result.remaining} still under older keys"
        )
        if result.remaining == 0:
            self.stdout.write(self.style.SUCCESS("no row uses an older key: it can be removed from ENCRYPTION_KEYS"))
