from __future__ import annotations

from django.apps import AppConfig


class PolyhunterConfig(AppConfig):
    name = "polyhunter"
    verbose_name = "Platform"
