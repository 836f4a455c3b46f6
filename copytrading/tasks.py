"""Dramatiq actors of the copytrading app: thin interfaces taking ids or keys only.

Lane queues are per deployment (``<key>.fanout``, ``<key>.exits``, ``<key>.copies``,
``<key>.reconcile``, ``<key>.settle``). Each process declares only its own deployment's lanes (the actors below
are bound to them at import), so a worker consumes its own deployment's work; senders name the
target queue explicitly (polyhunter.broker.send_to_queue). Dedicated workers should also be
started with ``--queues`` naming exactly their lanes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dramatiq
from django.conf import settings
from dramatiq_crontab import cron, interval

import copytrading.detection.actors
import copytrading.leaders.actors
import copytrading.notifications.actors  # noqa: F401  (follower digests and their schedule)
from accounts.models import TradingAccount
from copytrading.archive import archive_run
from copytrading.controls import account_session_check
from copytrading.deployments import deployment_current, deployment_heartbeat
from copytrading.fanout import EXECUTE_ACTOR, FAN_OUT_ACTOR, fanout_leader_trade
from copytrading.markets import REFRESH_MARKET_LABELS_ACTOR, market_labels_refresh
from copytrading.models import Deployment
from copytrading.observed import scheduler_heartbeat
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.fleet import FLEET_QUEUE, SETTLE_FLEET_ACTOR, fleet_release_ended
from copytrading.pipeline.fleet_settle import debt_recover, fleet_settle, fleet_settle_due
from copytrading.pipeline.handback import RECOVER_ACTOR
from copytrading.pipeline.recovery import recover_due, recover_ids
from copytrading.pipeline.settle import settle_due
from copytrading.pipeline.sweep import sweep_deployment
from copytrading.protection import positions_protect
from execution.fleet.debts import debts_due
from execution.fleet.keys import fleet_size
from execution.fleet.wallets import fleet_monitor, fleet_refresh_balances
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
@dramatiq.actor(actor_name=FAN_OUT_ACTOR, queue_name=f"{MY_KEY}.fanout", time_limit=60_000, **DATABASE_RETRY)
def fan_out(leader_trade_id: int, deployment_key: str) -> None:
    deployment = deployment_current()
    if deployment.key == deployment_key:
        fanout_leader_trade(leader_trade_id=leader_trade_id, deployment=deployment)


# Submits orders, so never retried blindly: only a database error, and that is safe -- a retry
# claims only rows still PENDING (or CLAIMED with an expired lease), so it never signs or sends a
# row twice; a row the failed run signed stays SIGNED for the reconciler (docs/pipeline.md).
@dramatiq.actor(actor_name=EXECUTE_ACTOR, queue_name=f"{MY_KEY}.copies", time_limit=120_000, **DATABASE_RETRY)
def execute_copy_trades(copy_trade_ids: list[int]) -> None:
    copytrades_execute(ids=copy_trade_ids, deployment=deployment_current())


# Recovery (lost answers, transient refusals, orders signed and never answered) has its own queue,
# ahead of fill confirmation (``<key>.settle``, lower priority in a worker that serves both).
@dramatiq.actor(queue_name=f"{MY_KEY}.reconcile", max_retries=0, time_limit=120_000)
def reconcile_deployment(deployment_key: str) -> None:
    """The tick's run: the deployment's heartbeat, the sweep, and a first batch of recovery."""
    deployment = deployment_current()
    if deployment.key != deployment_key:
        return
    deployment_heartbeat(key=deployment.key)
    sweep_deployment(deployment=deployment)
    recover_due(deployment=deployment, more=lambda: _continue(recover_deployment, "reconcile", deployment.key))


@dramatiq.actor(queue_name=f"{MY_KEY}.reconcile", max_retries=0, time_limit=120_000)
def recover_deployment(deployment_key: str) -> None:
    """The next batch of due recovery rows, while a backlog lasts (sent by a run whose batch was full)."""
    deployment = deployment_current()
    if deployment.key == deployment_key:
        recover_due(deployment=deployment, more=lambda: _continue(recover_deployment, "reconcile", deployment.key))


@dramatiq.actor(actor_name=RECOVER_ACTOR, queue_name=f"{MY_KEY}.reconcile", time_limit=120_000, **DATABASE_RETRY)
def recover_copy_trades(deployment_key: str, copy_trade_ids: list[int]) -> None:
    """A hand-back: these rows need recovery now (a refusal's backoff or a lost answer's recheck is due)."""
    deployment = deployment_current()
    if deployment.key == deployment_key:
        recover_ids(deployment=deployment, ids=copy_trade_ids)


@dramatiq.actor(queue_name=f"{MY_KEY}.settle", priority=10, max_retries=0, time_limit=120_000)
def settle_deployment(deployment_key: str) -> None:
    """Follow a batch of due fills to CONFIRMED or FAILED (the venue's trades, read per account)."""
    deployment = deployment_current()
    if deployment.key == deployment_key:
        settle_due(deployment=deployment, more=lambda: _continue(settle_deployment, "settle", deployment.key))


def _continue(actor: dramatiq.Actor[..., None], lane: str, deployment_key: str) -> None:
    send_to_queue(actor, f"{deployment_key}.{lane}", deployment_key)


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
    """Ask every active deployment's own workers to sweep, recover and confirm fills."""
    scheduler_heartbeat()
    for key in Deployment.objects.filter(is_active=True).values_list("key", flat=True):
        send_to_queue(reconcile_deployment, f"{key}.reconcile", key)
        send_to_queue(settle_deployment, f"{key}.settle", key)


@cron("30 4 * * Sun")  # type: ignore[untyped-decorator]  # every Sunday 04:30 UTC; dramatiq-crontab ships no types
@dramatiq.actor(queue_name="platform", max_retries=0, time_limit=6 * 3600 * 1000)
def archive_weekly() -> None:
    """Archive what is past ARCHIVE_RETENTION_DAYS (0: off), in killable batches (copytrading.archive)."""
    if settings.ARCHIVE_RETENTION_DAYS:
        archive_run(older_than=timedelta(days=settings.ARCHIVE_RETENTION_DAYS))


@dramatiq.actor(queue_name="platform", max_retries=0, time_limit=30_000)
def check_session_key(account_id: int) -> None:
    account = TradingAccount.objects.filter(id=account_id, mode=TradingAccount.Mode.SESSION).first()
    if account is not None:
        account_session_check(account=account)


@interval(seconds=600)  # type: ignore[untyped-decorator]  # dramatiq-crontab ships no types
@dramatiq.actor(queue_name="platform", max_retries=0, time_limit=30_000)
def session_keys_tick() -> None:
    """Re-read every session account's authorisation (expiry, revocation), one message each."""
    session_accounts = TradingAccount.objects.filter(
        mode=TradingAccount.Mode.SESSION, session_keys__state="current", session_keys__revoked_at__isnull=True
    )
    for account_id in session_accounts.values_list("id", flat=True).distinct():
        check_session_key.send(account_id)


@dramatiq.actor(actor_name=SETTLE_FLEET_ACTOR, queue_name=FLEET_QUEUE, max_retries=0, time_limit=300_000)
def settle_fleet_copy(copy_trade_id: int) -> None:
    """Settle one confirmed fleet fill on chain (push shares, reimburse): idempotent, ids only."""
    fleet_settle(copy_trade_id)


@dramatiq.actor(queue_name=FLEET_QUEUE, max_retries=0, time_limit=300_000)
def recover_debt(debt_id: int) -> None:
    """Try to collect one open fleet debt (the contract makes it exactly once)."""
    debt_recover(debt_id)


@interval(seconds=5)  # type: ignore[untyped-decorator]  # dramatiq-crontab ships no types
@dramatiq.actor(queue_name="platform", max_retries=0, time_limit=10_000)
def fleet_tick() -> None:
    """Re-send due fleet settlements and debt collections; give back wallets of ended copies;
    re-read a few wallets' balances."""
    if not fleet_size():
        return
    for copy_trade_id in fleet_settle_due():
        settle_fleet_copy.send(copy_trade_id)
    for debt_id in debts_due():
        recover_debt.send(debt_id)
    fleet_release_ended()
    monitor_fleet_transactions.send()
    refresh_fleet_balances.send()


@dramatiq.actor(queue_name=FLEET_QUEUE, max_retries=0, time_limit=120_000)
def monitor_fleet_transactions() -> None:
    """Receipts, stuck replacements (same nonce, higher fees), lost bytes and nonce gaps."""
    fleet_monitor()


@dramatiq.actor(queue_name=FLEET_QUEUE, max_retries=0, time_limit=60_000)
def refresh_fleet_balances() -> None:
    """Re-read the float and gas of the wallets in use, then of those read longest ago (bounded)."""
    fleet_refresh_balances()


# Exits have their own queue (and their own workers in production), so an exit never waits
# behind a burst of copies; declare it so this process's workers consume it too.
dramatiq.get_broker().declare_queue(f"{MY_KEY}.exits")


@dramatiq.actor(actor_name=REFRESH_MARKET_LABELS_ACTOR, queue_name="platform", max_retries=0, time_limit=60_000)
def refresh_market_labels(token_ids: list[str]) -> None:
    """Name these tokens (market question and outcome) from the venue, for the pages."""
    market_labels_refresh(token_ids=token_ids)
