from __future__ import annotations

from django.apps import AppConfig


class CopytradingConfig(AppConfig):
    name = "copytrading"
    verbose_name = "Copy trading"

    def ready(self) -> None:
        from copytrading.metrics import PlatformCollector
        from polyhunter.metrics import register_scrape_collector

        register_scrape_collector(PlatformCollector())
