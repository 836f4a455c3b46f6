"""The platform's state as operations read it: what /metrics exports at a scrape and /readyz judges.

Every reading is a bounded query (partial indexes, a GROUP BY over the few non-terminal rows,
a handful of singleton rows) or a few Redis commands; none runs on the order path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import dramatiq
from django.core.cache import cache
from django.db.models import Count, Min
from prometheus_client.metrics_core import Metric

from accounts.models import TradingAccount
from copytrading.metrics import gauge
from copytrading.models import CopyRelationship, CopyTrade, Deployment, DetectorState, WatchedWallet
from execution.guardrails.breaker import breaker_counts, breaker_is_open
from execution.models import GuardrailSettings, TradingSwitch

# Written by the scheduler's platform tick (every 2 s): the proof that periodic work runs.
SCHEDULER_HEARTBEAT_KEY = "polyhunter:scheduler:heartbeat"
STATIC_QUEUES = ("platform", "detection")


def scheduler_heartbeat(*, now: float | None = None) -> None:
    cache.set(SCHEDULER_HEARTBEAT_KEY, now if now is not None else time.time(), timeout=None)


def scheduler_heartbeat_age(*, now: float) -> float | None:
    seen = cache.get(SCHEDULER_HEARTBEAT_KEY)
    return None if seen is None else max(now - float(seen), 0.0)


@dataclass(frozen=True)
class OpenCopies:
    status: str
    count: int
    oldest_age: float


def open_copies(*, now: float) -> list[OpenCopies]:
    rows = (
        CopyTrade.objects.exclude(status__in=CopyTrade.TERMINAL)
        .values("status")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    return [OpenCopies(r["status"], r["n"], max(now - r["oldest"].timestamp(), 0.0)) for r in rows]


def stuck_copies(*, now: float) -> int:
    moment = datetime.fromtimestamp(now, tz=UTC)
    return CopyTrade.objects.exclude(status__in=CopyTrade.TERMINAL).filter(deadline_at__lt=moment).count()


def copy_state(*, now: float) -> Iterable[Metric]:
    count = gauge("polyhunter_copies_open", "Copy trades not finished yet, by status.", ["status"])
    age = gauge(
        "polyhunter_copies_open_oldest_age_seconds",
        "Age of the oldest unfinished copy trade of each status (since it was created).",
        ["status"],
    )
    seen = {row.status: row for row in open_copies(now=now)}
    for status in CopyTrade.Status.values:
        if status in CopyTrade.TERMINAL:
            continue
        row = seen.get(status)
        count.add_metric([status], row.count if row else 0)
        age.add_metric([status], row.oldest_age if row else 0)
    stuck = gauge("polyhunter_copies_stuck", "Unfinished copy trades past their deadline (invariant I3).")
    stuck.add_metric([], stuck_copies(now=now))
    return [count, age, stuck]


def switch_state(*, now: float) -> Iterable[Metric]:
    engaged = gauge("polyhunter_switch_engaged", "1 while a platform switch is engaged.", ["switch"])
    on = set(TradingSwitch.objects.filter(engaged=True).values_list("name", flat=True))
    for name in TradingSwitch.Name.values:
        engaged.add_metric([name], 1 if name in on else 0)
    paused = gauge("polyhunter_paused", "Paused leaders, accounts and follows.", ["scope"])
    paused.add_metric(["leader"], WatchedWallet.objects.filter(paused=True).count())
    paused.add_metric(["account"], TradingAccount.objects.filter(paused=True).count())
    paused.add_metric(["follow"], CopyRelationship.objects.filter(status=CopyRelationship.Status.PAUSED).count())
    return [engaged, paused]


@dataclass(frozen=True)
class BreakerReading:
    open: bool
    total: int
    unknown: int
    window_seconds: int


def breaker_reading() -> BreakerReading:
    limits = GuardrailSettings.current()
    total, unknown = breaker_counts(window_seconds=limits.breaker_window_seconds)
    is_open = breaker_is_open(
        window_seconds=limits.breaker_window_seconds,
        min_orders=limits.breaker_min_orders,
        ratio=Decimal(limits.breaker_unknown_ratio),
    )
    return BreakerReading(open=is_open, total=total, unknown=unknown, window_seconds=limits.breaker_window_seconds)


def breaker_state() -> Iterable[Metric]:
    reading = breaker_reading()
    state = gauge("polyhunter_breaker_open", "1 while the circuit breaker holds new copies back.")
    state.add_metric([], 1 if reading.open else 0)
    answers = gauge(
        "polyhunter_breaker_window_answers",
        "Venue answers to order POSTs in the breaker's window: all of them, and those that show the venue unusable.",
        ["kind"],
    )
    answers.add_metric(["total"], reading.total)
    answers.add_metric(["unknown"], reading.unknown)
    return [state, answers]


@dataclass(frozen=True)
class QueueReading:
    queue: str
    messages: int
    oldest_age: float


def queue_names() -> list[str]:
    keys = Deployment.objects.filter(is_active=True).values_list("key", flat=True)
    lanes = [f"{key}.{lane}" for key in keys for lane in Deployment.LANES]
    return [*STATIC_QUEUES, *lanes]


def queue_readings(*, now: float) -> list[QueueReading]:
    """Messages waiting in each queue (not yet fetched by a worker) and the age of the oldest."""
    broker = dramatiq.get_broker()
    readings = []
    for name in queue_names():
        if hasattr(broker, "client"):
            readings.append(_redis_queue(broker, name, now=now))
        else:
            readings.append(_stub_queue(broker, name, now=now))
    return readings


def _redis_queue(broker: Any, name: str, *, now: float) -> QueueReading:
    key = f"{broker.namespace}:{name}"
    pipe = broker.client.pipeline(transaction=False)
    pipe.llen(key)
    pipe.lindex(key, 0)
    depth, head = pipe.execute()
    age = 0.0
    if head is not None:
        data = broker.client.hget(f"{key}.msgs", head)
        if data is not None:
            age = max(now - json.loads(data)["message_timestamp"] / 1000, 0.0)
    return QueueReading(name, int(depth), age)


def _stub_queue(broker: Any, name: str, *, now: float) -> QueueReading:
    queue = broker.queues.get(name)
    if queue is None:
        return QueueReading(name, 0, 0.0)
    waiting = list(queue.queue)
    age = 0.0
    if waiting:
        age = max(now - json.loads(waiting[0])["message_timestamp"] / 1000, 0.0)
    return QueueReading(name, len(waiting), age)


def queue_state(*, now: float) -> Iterable[Metric]:
    depth = gauge("polyhunter_queue_messages", "Messages waiting in a queue (not yet taken by a worker).", ["queue"])
    age = gauge("polyhunter_queue_oldest_age_seconds", "Age of the oldest message waiting in a queue.", ["queue"])
    for reading in queue_readings(now=now):
        depth.add_metric([reading.queue], reading.messages)
        age.add_metric([reading.queue], reading.oldest_age)
    return [depth, age]


def detector_ages(*, now: float) -> dict[str, float]:
    rows = DetectorState.objects.filter(last_seen_at__isnull=False).values_list("name", "last_seen_at")
    return {name: max(now - seen.timestamp(), 0.0) for name, seen in rows if seen is not None}


def heartbeat_state(*, now: float) -> Iterable[Metric]:
    detectors = gauge("polyhunter_detector_heartbeat_age_seconds", "Seconds since a detector last ran.", ["detector"])
    for name, age in sorted(detector_ages(now=now).items()):
        detectors.add_metric([name], age)
    families: list[Metric] = [detectors]
    scheduler = scheduler_heartbeat_age(now=now)
    if scheduler is not None:
        family = gauge("polyhunter_scheduler_heartbeat_age_seconds", "Seconds since the scheduler's last tick ran.")
        family.add_metric([], scheduler)
        families.append(family)
    beats = Deployment.objects.filter(is_active=True).aggregate(oldest=Min("heartbeat_at"))["oldest"]
    if beats is not None:
        family = gauge(
            "polyhunter_deployment_heartbeat_oldest_age_seconds",
            "Seconds since the workers of the least recently seen active deployment last reconciled.",
        )
        family.add_metric([], max(now - beats.timestamp(), 0.0))
        families.append(family)
    return families
