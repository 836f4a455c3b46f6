"""Scenarios about bad inputs (docs/pipeline.md, reliability suite): stale signals, a price that ran away, fat fingers.
Each must end before anything is signed or, when it is signed, within every cap."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade
from copytrading.reasons import Reason
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import (
    Venue,
    execute,
    follow,
    leader_buy,
    pending_copy,
    reconcile_until_settled,
    rows_of,
    speed_account,
)
from tests.factories import TOKEN_YES, make_leader

pytestmark = pytest.mark.django_db(transaction=True)


def assert_never_signed(venue: Venue, *rows: CopyTrade) -> None:
    for row in rows:
        assert (row.order_hash, row.signed_order, row.submit_count) == (None, None, 0)
    assert venue.proxy.order_posts() == []
    assert venue.sim.orders() == []


def test_s26_a_stale_leader_signal_is_skipped_before_signing_whether_detected_late_or_delivered_late(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    account = speed_account(venue, n=1)
    # Detected late: the leader traded ten minutes ago.
    old = follow(account)
    ten_minutes_ago = timezone.now() - timedelta(minutes=10)
    trade = leader_buy(old.leader, occurred_at=ten_minutes_ago)
    fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment)
    (detected_late,) = rows_of(trade)
    assert (detected_late.status, detected_late.reason_code) == (CopyTrade.Status.SKIPPED, Reason.STALE)

    # Delivered late: fanned out while fresh, then its execute message waited three minutes in
    # a backlog (the row and the leader trade are as old as they would be by then).
    row = pending_copy(venue, deployment, n=2)
    back = timedelta(minutes=3)
    leader_trade = row.leader_trade
    assert leader_trade is not None
    LeaderTrade.objects.filter(id=leader_trade.id).update(
        occurred_at=leader_trade.occurred_at - back, detected_at=leader_trade.detected_at - back
    )
    CopyTrade.objects.filter(id=row.id).update(created_at=row.created_at - back)
    (delivered_late,) = execute(deployment, row)
    assert (delivered_late.status, delivered_late.reason_code) == (CopyTrade.Status.SKIPPED, Reason.STALE)
    assert_never_signed(venue, detected_late, delivered_late)
    check()


def test_s27_a_price_past_the_collar_is_refused_before_any_signature(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    venue.sim.set_book(TOKEN_YES, bids=[("0.53", "1000")], asks=[("0.55", "1000")], replenish=True)
    row = pending_copy(venue, deployment, slippage_bps=300, trade={"price": Decimal("0.40")})
    (row,) = execute(deployment, row)
    assert (row.status, row.reason_code) == (CopyTrade.Status.SKIPPED, Reason.SLIPPAGE)
    assert "37.5 %" in row.reason_detail
    assert_never_signed(venue, row)
    check()


def test_s28_fat_finger_sizing_is_clamped_or_blocked_and_never_exceeds_the_per_order_or_daily_cap(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    account = speed_account(venue, n=1)
    # A ratio misconfigured to 10 instead of 0.1, on a normal leader trade ($56 -> $560 > $500).
    misconfigured = follow(account, sizing_mode=CopyRelationship.SizingMode.PROPORTIONAL, sizing_value=10)
    # A leader trade 100x the usual size ($5,600 x 0.1 -> $560).
    whale_follower = follow(
        speed_account(venue, n=2), sizing_mode=CopyRelationship.SizingMode.PROPORTIONAL, sizing_value="0.1"
    )
    # The same kind of mistake, with the follow's own limits set: clamped to $25, $40 a day.
    guarded_leader = make_leader()
    follow(
        speed_account(venue, n=3),
        leader=guarded_leader,
        sizing_mode=CopyRelationship.SizingMode.PROPORTIONAL,
        sizing_value=10,
        max_usdc_per_trade=Decimal(25),
        daily_cap_usdc=Decimal(40),
    )
    trades = [
        leader_buy(misconfigured.leader),
        leader_buy(whale_follower.leader, shares=Decimal(10_000), usdc=Decimal(5_600)),
        leader_buy(guarded_leader),
        leader_buy(guarded_leader),
    ]
    ids = [i for t in trades for i in fanout_leader_trade(leader_trade_id=t.id, deployment=deployment).pending_ids]
    rows = execute(deployment, *CopyTrade.objects.filter(id__in=ids).order_by("id"))
    outcome = [(row.status, row.reason_code, row.planned_usdc) for row in rows]
    assert outcome == [
        (CopyTrade.Status.BLOCKED, Reason.MAX_ORDER_NOTIONAL, None),
        (CopyTrade.Status.BLOCKED, Reason.MAX_ORDER_NOTIONAL, None),
        (CopyTrade.Status.FILLED, "", Decimal(25)),
        (CopyTrade.Status.BLOCKED, Reason.DAILY_CAP, None),
    ]
    assert "$560" in rows[0].reason_detail
    reconcile_until_settled(deployment, venue=venue)
    assert len(venue.sim.orders()) == 1
    check()
