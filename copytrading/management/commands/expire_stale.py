from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from copytrading.deployments import deployment_current
from copytrading.pipeline.sweep import sweep_deployment


class Command(BaseCommand):
    help = (
        "One sweep of this deployment: expire PENDING/CLAIMED rows older than 10 minutes (and rows that keep "
        "killing their worker), re-send execute messages that were lost, re-run lost fan-outs."
    )

    def handle(self, *args: Any, **options: Any) -> str:
        deployment = deployment_current()
        result = sweep_deployment(deployment=deployment)
        return (
            f"{deployment.key}: expired {result.expired} stale and {result.poisoned} abandoned row(s), "
            f"re-sent {result.resent}, re-ran {result.fanouts} fan-out(s)"
        )
