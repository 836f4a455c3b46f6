"""Dramatiq actors of the copytrading app: thin interfaces taking ids or keys only."""

from __future__ import annotations

import dramatiq

from copytrading.deployments import deployment_heartbeat


@dramatiq.actor(queue_name="platform", max_retries=0, time_limit=10_000)
def record_heartbeat(deployment_key: str) -> None:
    deployment_heartbeat(key=deployment_key)
