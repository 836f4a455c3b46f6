"""Fleet state for /metrics, read at each scrape (never on the settlement path): operator
wallets, their float and gas, open debts, and tracked transactions.

Labels are fixed sets (`state`, `resource`); no wallet, follower or copy is ever a label.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Min, Q, Sum
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from execution.fleet.models import ChainTransaction, DebtRecord, OperatorWallet
from execution.models import GuardrailSettings

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


def wallet_state() -> Iterable[Metric]:
    wallets = GaugeMetricFamily(
        "polyhunter_fleet_wallets", "Operator wallets by state (active ones take new copies).", labels=["state"]
    )
    rows = dict(OperatorWallet.objects.values("state").annotate(n=Count("id")).order_by().values_list("state", "n"))
    for state in OperatorWallet.State.values:
        wallets.add_metric([state], rows.get(state, 0))
    yield wallets
    # Short = at its last reading it cannot take the largest order the platform allows (float), or
    # holds less POL than checkout asks for (gas): checkout skips it, and with all of them short
    # fleet copies wait, then are skipped.
    limits = GuardrailSettings.current()
    active = OperatorWallet.objects.filter(state=OperatorWallet.State.ACTIVE)
    short = active.aggregate(
        float=Count("id", filter=Q(float_usdc__isnull=True) | Q(float_usdc__lt=limits.max_order_usdc)),
        gas=Count("id", filter=Q(gas_pol__isnull=True) | Q(gas_pol__lt=limits.fleet_min_gas_pol)),
        float_total=Sum("float_usdc"),
    )
    shortage = GaugeMetricFamily(
        "polyhunter_fleet_wallets_short",
        "Active operator wallets that, at their last reading, cannot pay for the largest order (float) or hold "
        "less than the minimum POL (gas).",
        labels=["resource"],
    )
    shortage.add_metric(["float"], short["float"])
    shortage.add_metric(["gas"], short["gas"])
    yield shortage
    total = GaugeMetricFamily(
        "polyhunter_fleet_float_pusd", "pUSD held by the active operator wallets (last readings)."
    )
    total.add_metric([], float(short["float_total"] or 0))
    yield total
    debts = DebtRecord.objects.filter(state=DebtRecord.State.OPEN).aggregate(n=Count("id"), owed=Sum("amount_usdc"))
    count = GaugeMetricFamily("polyhunter_fleet_debts_open", "Fleet debts not collected or forgiven yet.")
    count.add_metric([], debts["n"])
    yield count
    owed = GaugeMetricFamily("polyhunter_fleet_debts_open_pusd", "pUSD owed to the fleet by followers (open debts).")
    owed.add_metric([], float(debts["owed"] or 0))
    yield owed


class FleetCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        yield from wallet_state()
        yield from transaction_state(now=time.time())
