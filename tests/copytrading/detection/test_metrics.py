"""Prometheus metrics: detection lag, leader trades per source, detector errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from copytrading.detection.chain import ChainUnavailable, chain_scan
from copytrading.detection.record import TradeObservation, leader_trades_record
from tests.copytrading.detection.evm import Evm, V2Fill
from tests.factories import TOKEN_YES, make_leader, random_tx_hash

pytestmark = pytest.mark.django_db
Capture = Callable[..., Any]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_it_counts_trades_per_source_and_observes_the_detection_lag_once_committed(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    a = make_leader()
    trades = sample("polyhunter_leader_trades_total", source="data_api", status="new")
    lags = sample("polyhunter_detection_lag_seconds_count", source="data_api")
    lag_sum = sample("polyhunter_detection_lag_seconds_sum", source="data_api")
    now = timezone.now()
    obs = TradeObservation(
        leader=a.address,
        tx_hash=random_tx_hash(),
        token_id=TOKEN_YES,
        side="BUY",
        shares=Decimal(1),
        usdc=Decimal("0.5"),
        occurred_at=now - timedelta(seconds=7),
        leg_id="x",
    )
    with django_capture_on_commit_callbacks(execute=True):
        leader_trades_record(observations=[obs], source="data_api", now=now)
        leader_trades_record(observations=[obs], source="data_api", now=now)  # a duplicate: not counted
    assert sample("polyhunter_leader_trades_total", source="data_api", status="new") == trades + 1
    assert sample("polyhunter_detection_lag_seconds_count", source="data_api") == lags + 1
    assert sample("polyhunter_detection_lag_seconds_sum", source="data_api") == pytest.approx(lag_sum + 7)


def test_it_counts_detector_errors(evm: Evm) -> None:
    make_leader()
    before = sample("polyhunter_detection_errors_total", detector="chain", kind="ChainUnavailable")
    evm.match_v2(V2Fill(make_leader().address, "BUY", int(TOKEN_YES), Decimal(1), Decimal("0.5")))
    evm.provider.fail_after_get_logs = 0
    with pytest.raises(ChainUnavailable):
        chain_scan(w3=evm.w3, exchanges=evm.exchanges, confirmations=0, start_block=1)
    assert sample("polyhunter_detection_errors_total", detector="chain", kind="ChainUnavailable") == before + 1
