from __future__ import annotations

from django.apps import AppConfig


class CopytradingConfig(AppConfig):
    name = "copytrading"
    verbose_name = "Copy trading"
