from __future__ import annotations

from django.apps import AppConfig


class CopytradingConfig(AppConfig):
    name = "copytrading"
    verbose_name = "Copy trading"

    def ready(self) -> None:
        # Every metric family declared at start, so a scrape lists each one before it first moves.
        import copytrading.detection.metrics  # noqa: F401
        import execution.metrics
        import execution.venue.metrics  # noqa: F401
        from copytrading.metrics import PlatformCollector
        from polyhunter.metrics import register_scrape_collector

        register_scrape_collector(PlatformCollector())
