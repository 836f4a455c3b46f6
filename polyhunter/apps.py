from __future__ import annotations

from django.apps import AppConfig


class PolyhunterConfig(AppConfig):
    name = "polyhunter"
    verbose_name = "Platform"

    def ready(self) -> None:
        from polyhunter import checks  # noqa: F401  (registers the broker start-up check)
