"""Fleet transaction state for /metrics, read at each scrape (never on the settlement path).

Labels are fixed sets (`state`); no wallet, follower or copy is ever a label.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Min
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from execution.fleet.models import ChainTransaction

WINDOW = timedelta(days=1)


def transaction_state(*, now: float) -> Iterable[Metric]:
    counts = GaugeMetricFamily(
        "polyhunter_fleet_transactions",
        "Operator-wallet transactions sent in the last 24 hours, by state (sent = not mined yet).",
        labels=["state"],
    )
    moment = datetime.fromtimestamp(now, tz=UTC)
    rows = dict(
        ChainTransaction.objects.filter(sent_at__gte=moment - WINDOW)
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("state", "n")
    )
    for state in ChainTransaction.State.values:
        counts.add_metric([state], rows.get(state, 0))
    yield counts
    oldest = ChainTransaction.objects.filter(state=ChainTransaction.State.SENT).aggregate(at=Min("sent_at"))["at"]
    age = GaugeMetricFamily(
        "polyhunter_fleet_transactions_oldest_unmined_age_seconds",
        "Seconds since the oldest operator-wallet transaction still not mined was sent (0: none).",
    )
    age.add_metric([], max(now - oldest.timestamp(), 0.0) if oldest else 0.0)
    yield age


class FleetCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        yield from transaction_state(now=time.time())
