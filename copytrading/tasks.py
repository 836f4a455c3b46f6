"""Dramatiq actors of the copytrading app: thin interfaces taking ids or keys only.

Lane queues are per deployment (``<key>.fanout``, ``<key>.exits``, ``<key>.copies``,
``<key>.reconcile``). Each process declares only its own deployment's lanes (the actors below
are bound to them at import), so a worker consumes its own deployment's work; senders name the
target queue explicitly (polyhunter.broker.send_to_queue). Dedicated workers should also be
started with ``--queues`` naming exactly their lanes.
"""

from __future__ import annotations

from typing import Any

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

import copytrading.detection.actors  # noqa: F401  (declares the detection actors and their schedule)
from copytrading.deployments import deployment_current, deployment_heartbeat
from copytrading.fanout import fanout_leader_trade
from copytrading.models import Deployment
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.reconcile import reconcile_due
from copytrading.pipeline.sweep import sweep_deployment
from copytrading.protection import positions_protect
from polyhunter.broker import (
    DATABASE_MAX_BACKOFF_MS,
    DATABASE_MIN_BACKOFF_MS,
    retry_database_outage,
    send_to_queue,
)

MY_KEY = settings.DEPLOYMENT_ID


@dramatiq.actor(queue_name="platform", max_retries=0, time_limit=10_000)
def record_heartbeat(deployment_key: str) -> None:
    deployment_heartbeat(key=deployment_key)


# Retried when the database was unreachable (polyhunter.broker.retry_database_outage): a message
# that meets a PostgreSQL restart runs once the database is back instead of waiting for the sweeper.
DATABASE_RETRY: dict[str, Any] = {
    "retry_when": retry_database_outage,
    "min_backoff": DATABASE_MIN_BACKOFF_MS,
    "max_backoff": DATABASE_MAX_BACKOFF_MS,
}


# Idempotent (row lock + unique constraint): safe to retry after a database hiccup.
@dramatiq.actor(queue_name=f"{MY_KEY}.fanout", time_limit=60_000, **DATABASE_RETRY)
def fan_out(leader_trade_id: int, deployment_key: str) -> None:
    deployment = deployment_current()
    if deployment.key == deployment_key:
        fanout_leader_trade(leader_trade_id=leader_trade_id, deployment=deployment)


# Submits orders, so never retried blindly: only a database error, and that is safe -- a retry
# claims only rows still PENDING (or CLAIMED with an expired lease), so it never signs or sends a
# row twice; a row the failed run signed stays SIGNED for the reconciler (reliability §2.4, C4).
@dramatiq.actor(queue_name=f"{MY_KEY}.copies", time_limit=120_000, **DATABASE_RETRY)
def execute_copy_trades(copy_trade_ids: list[int]) -> None:
    copytrades_execute(ids=copy_trade_ids, deployment=deployment_current())


@dramatiq.actor(queue_name=f"{MY_KEY}.reconcile", max_retries=0, time_limit=120_000)
def reconcile_deployment(deployment_key: str) -> None:
    deployment = deployment_current()
    if deployment.key != deployment_key:
        return
    deployment_heartbeat(key=deployment.key)
    sweep_deployment(deployment=deployment)
    reconcile_due(deployment=deployment)


@dramatiq.actor(queue_name=f"{MY_KEY}.reconcile", max_retries=0, time_limit=60_000)
def protect_deployment(deployment_key: str) -> None:
    """Mark this deployment's positions and open the stop-loss / take-profit exits now due."""
    deployment = deployment_current()
    if deployment.key == deployment_key:
        positions_protect(deployment=deployment)


@interval(seconds=10)  # type: ignore[untyped-decorator]  # dramatiq-crontab ships no types
@dramatiq.actor(queue_name="platform", max_retries=0, time_limit=10_000)
def positions_tick() -> None:
    """Ask every active deployment to mark its positions and check stop-loss / take-profit."""
    for key in Deployment.objects.filter(is_active=True).values_list("key", flat=True):
        send_to_queue(protect_deployment, f"{key}.reconcile", key)


@interval(seconds=2)  # type: ignore[untyped-decorator]  # dramatiq-crontab ships no types
@dramatiq.actor(queue_name="platform", max_retries=0, time_limit=10_000)
def platform_tick() -> None:
    """Ask every active deployment's own workers to sweep and reconcile their rows."""
    for key in Deployment.objects.filter(is_active=True).values_list("key", flat=True):
        send_to_queue(reconcile_deployment, f"{key}.reconcile", key)


# Exits have their own queue (and their own workers in production), so an exit never waits
# behind a burst of copies; declare it so this process's workers consume it too.
dramatiq.get_broker().declare_queue(f"{MY_KEY}.exits")
