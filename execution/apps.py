from __future__ import annotations

from django.apps import AppConfig


class ExecutionConfig(AppConfig):
    name = "execution"
    verbose_name = "Execution and guardrails"

    def ready(self) -> None:
        from execution.fleet.metrics import FleetCollector
        from polyhunter.metrics import register_scrape_collector

        register_scrape_collector(FleetCollector())
