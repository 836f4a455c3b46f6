"""Metrics of the copy pipeline: events counted where they happen, state read when scraped.

Events (``prometheus_client``, multi-process safe, see polyhunter/metrics.py): copies by the
status they reached and why, stage latencies, reconciler decisions, archived rows. Observing
one is a dictionary lookup and an add on timestamps the pipeline already holds: no database
round trip and no clock read is added to the execute path.

State (``PlatformCollector``, read at each scrape of /metrics): copies awaiting the venue and
the age of the oldest, stuck rows, switches and pauses, the breaker, queue depths and the age of
the oldest message, detector and scheduler heartbeats. Bounded queries on partial indexes.

Labels never name a user, a wallet or a market: ``status`` and ``reason`` are the fixed codes of
``CopyTrade.Status``, ``copytrading.reasons.Reason`` and the venue classifier; ``stage``,
``decision``, ``queue`` and ``table`` are fixed sets.

Operator-wallet (fleet) mode will add its float, gas and debt gauges to ``PlatformCollector``
when it exists (issue #12); until then nothing is exported for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

COPY_OUTCOMES = Counter(
    "polyhunter_copies",
    "Copy trades reaching a status (terminal, or the venue's answer), by status and reason code.",
    ["status", "reason"],
)
STAGE_SECONDS = Histogram(
    "polyhunter_copy_stage_seconds",
    "Seconds each copy spent in one stage: fanout (leader trade detected -> copy row), claim (row -> "
    "claimed by a worker), sign (claimed -> signed), post (signed -> POST sent), answer (POST -> "
    "answer recorded).",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
RECONCILER_DECISIONS = Counter(
    "polyhunter_reconciler_decisions",
    "What the reconciler decided about a copy it looked at.",
    ["decision"],
)
ARCHIVED_ROWS = Counter(
    "polyhunter_archived_rows",
    "Rows moved to the archive tables, by table.",
    ["table"],
)

STAGES = ("fanout", "claim", "sign", "post", "answer")


def copies_counted(*, status: str, reason: str, count: int = 1) -> None:
    """Count copies that reached ``status`` (written by the caller; a write that rolls back after
    this is rare enough that the counter does not wait for the commit)."""
    if count:
        COPY_OUTCOMES.labels(status=status, reason=reason or "none").inc(count)


def stage_observed(stage: str, start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None:
        STAGE_SECONDS.labels(stage=stage).observe(max((end - start).total_seconds(), 0.0))


def reconciler_decided(decision: str) -> None:
    RECONCILER_DECISIONS.labels(decision=decision).inc()


class PlatformCollector(Collector):
    """The platform's state, read when /metrics is scraped (web process only)."""

    def collect(self) -> Iterable[Metric]:
        from copytrading import observed

        now = time.time()
        yield from observed.copy_state(now=now)
        yield from observed.switch_state(now=now)
        yield from observed.breaker_state()
        yield from observed.queue_state(now=now)
        yield from observed.heartbeat_state(now=now)


def gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels or [])
