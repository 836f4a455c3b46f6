"""Recording: legs aggregated, one row per trade whichever source saw it, fan-out only for new rows."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from copytrading.detection.chain import fill_observation
from copytrading.detection.data_api import loads, parse_trade_row
from copytrading.detection.onchain import decode_order_filled
from copytrading.detection.record import TradeObservation, aggregate_observations, dedupe_key, leader_trades_record
from copytrading.models import LeaderTrade, WatchedWallet
from execution.simulator import VenueSimulator
from tests.copytrading.detection.helpers import fanned_out_ids
from tests.factories import TOKEN_NO, TOKEN_YES, make_leader, make_leader_trade, random_address, random_tx_hash

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
D = Decimal
Capture = Callable[..., Any]


def leg(leader: str, tx: str, *, shares: str, usdc: str, leg_id: str, side: str = "BUY", **kw: Any) -> TradeObservation:
    return TradeObservation(
        leader=leader,
        tx_hash=tx,
        token_id=kw.pop("token_id", TOKEN_YES),
        side=side,
        shares=D(shares),
        usdc=D(usdc),
        occurred_at=kw.pop("occurred_at", timezone.now()),
        leg_id=leg_id,
        **kw,
    )


def test_it_sums_the_legs_of_one_transaction_into_one_trade_at_the_volume_weighted_price() -> None:
    a, tx = random_address(), random_tx_hash()
    trades = aggregate_observations(
        [
            leg(a, tx, shares="10", usdc="5.5", leg_id="log:1"),
            leg(a, tx, shares="5", usdc="2.6", leg_id="log:2"),
            leg(a, tx, shares="5", usdc="2.6", leg_id="log:2"),  # the same leg seen twice
            leg(a, tx, shares="2", usdc="1", leg_id="log:3", side="SELL"),
            leg(a, tx, shares="1", usdc="0.4", leg_id="log:4", token_id=TOKEN_NO),
        ]
    )
    by_key = {(t.token_id, t.side): t for t in trades}
    buy = by_key[(TOKEN_YES, "BUY")]
    assert (buy.shares, buy.usdc, buy.legs, buy.price) == (D(15), D("8.1"), 2, D("0.54"))
    assert (by_key[(TOKEN_YES, "SELL")].legs, by_key[(TOKEN_NO, "BUY")].legs) == (1, 1)
    assert len(trades) == 3


@pytest.mark.django_db
def test_its_dedupe_key_is_the_same_for_every_source() -> None:
    assert dedupe_key(leader="0xAB" + "0" * 38, tx_hash="0xCD" + "0" * 62, token_id=TOKEN_YES, side="buy") == (
        f"0xab{'0' * 38}:0xcd{'0' * 62}:{TOKEN_YES}:BUY"
    )
    made = make_leader_trade()
    assert made.dedupe_key == dedupe_key(
        leader=made.leader.address, tx_hash=made.tx_hash, token_id=made.token_id, side=made.side
    )


@pytest.mark.django_db
def test_it_inserts_new_trades_once_and_fans_out_only_those(django_capture_on_commit_callbacks: Capture) -> None:
    a = make_leader()
    obs = [leg(a.address, random_tx_hash(), shares="3", usdc="1.5", leg_id="log:1") for _ in range(3)]
    with django_capture_on_commit_callbacks() as first:
        result = leader_trades_record(observations=obs[:2], source="onchain")
    assert len(result.new_ids) == 2
    assert fanned_out_ids(first) == result.new_ids
    with django_capture_on_commit_callbacks() as second:
        again = leader_trades_record(observations=obs, source="data_api")
    assert again.duplicates == 2
    assert fanned_out_ids(second) == again.new_ids
    assert len(again.new_ids) == 1
    assert LeaderTrade.objects.count() == 3
    a.refresh_from_db()
    assert a.last_trade_at is not None


@pytest.mark.django_db
def test_the_same_trade_from_the_chain_and_from_the_data_api_yields_one_leader_trade(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    """The real V2 taker fill of the fixture, then the Data API's row for the same transaction."""
    item = json.loads((FIXTURES / "onchain_orderfilled_v2_real_rows_with_reconstructed_logs.json").read_text())
    fill = decode_order_filled(item["items"][0]["reconstructed_raw_log"])
    make_leader(fill.wallet)
    now = timezone.now()
    data_api_row = loads(
        json.dumps(
            {
                "proxyWallet": fill.wallet,
                "side": "BUY",
                "asset": fill.token_id,
                "conditionId": "0x" + "11" * 32,
                "size": 10,
                "price": 0.8,
                "timestamp": int(now.timestamp()),
                "transactionHash": fill.tx_hash.upper().replace("0X", "0x"),
            }
        )
    )
    with django_capture_on_commit_callbacks() as callbacks:
        chain = leader_trades_record(observations=[fill_observation(fill, occurred_at=now)], source="onchain")
        api = leader_trades_record(observations=[parse_trade_row(data_api_row).observation()], source="data_api")
    assert (len(chain.new_ids), api.new_ids, api.duplicates) == (1, [], 1)
    trade = LeaderTrade.objects.get()
    assert (trade.source, trade.shares, trade.usdc, trade.price) == ("onchain", D(10), D(8), D("0.8"))
    assert fanned_out_ids(callbacks) == [trade.id]


@pytest.mark.django_db
def test_it_records_trades_older_than_max_age_as_stale_without_fan_out(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    a = make_leader()
    old = timezone.now() - timedelta(seconds=121)
    with django_capture_on_commit_callbacks() as callbacks:
        result = leader_trades_record(
            observations=[leg(a.address, random_tx_hash(), shares="1", usdc="0.5", leg_id="x", occurred_at=old)],
            source="onchain",
            max_age_seconds=120,
        )
    assert (result.new_ids, len(result.stale_ids)) == ([], 1)
    trade = LeaderTrade.objects.get()
    assert (trade.status, trade.reason) == (LeaderTrade.Status.STALE, "stale")
    assert fanned_out_ids(callbacks) == []


@pytest.mark.django_db
def test_it_records_paused_leaders_trades_and_ignores_wallets_nobody_watches() -> None:
    paused = make_leader(paused=True)
    result = leader_trades_record(
        observations=[
            leg(paused.address, random_tx_hash(), shares="1", usdc="0.5", leg_id="x"),
            leg(random_address(), random_tx_hash(), shares="1", usdc="0.5", leg_id="x"),
        ],
        source="onchain",
    )
    assert (len(result.new_ids), result.unwatched) == (1, 1)
    assert LeaderTrade.objects.get().leader == paused


@pytest.mark.django_db
def test_it_drops_a_trade_of_zero_shares() -> None:
    a = make_leader()
    result = leader_trades_record(
        observations=[leg(a.address, random_tx_hash(), shares="0", usdc="0", leg_id="x")], source="onchain"
    )
    assert (result.recorded, result.empty) == (0, 1)


@pytest.mark.django_db
def test_a_late_older_trade_never_moves_the_leaders_last_trade_back() -> None:
    a = make_leader()
    newer = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    for when in (newer, newer - timedelta(minutes=5)):
        obs = leg(a.address, random_tx_hash(), shares="1", usdc="0.5", leg_id="x", occurred_at=when)
        leader_trades_record(observations=[obs], source="replay", max_age_seconds=10**9)
    assert WatchedWallet.objects.get(id=a.id).last_trade_at == newer


@pytest.mark.django_db
def test_a_trades_age_is_read_on_the_venues_clock_not_this_hosts(venue_time: VenueSimulator) -> None:
    """S37: this host's clock runs two minutes ahead of the venue's. A trade the venue stamped a
    second ago is fresh, though the host's clock says 121 s; one 121 s old by the venue is stale."""
    venue_time.clock = lambda: time.time() - 120
    try:
        a = make_leader()
        now = timezone.now()
        fresh = leg(
            a.address, random_tx_hash(), shares="1", usdc="0.5", leg_id="f", occurred_at=now - timedelta(seconds=121)
        )
        old = leg(
            a.address, random_tx_hash(), shares="1", usdc="0.5", leg_id="o", occurred_at=now - timedelta(seconds=241)
        )
        result = leader_trades_record(observations=[fresh, old], source="onchain", max_age_seconds=120)
    finally:
        venue_time.clock = time.time
    assert (len(result.new_ids), len(result.stale_ids)) == (1, 1)
    assert LeaderTrade.objects.get(id=result.new_ids[0]).tx_hash == fresh.tx_hash
