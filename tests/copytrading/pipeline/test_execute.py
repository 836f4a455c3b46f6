"""Happy paths and decisions of the execute step, against the simulated venue over HTTP."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

import pytest
from django.utils import timezone

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Position
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.reconcile import reconcile_due
from execution.simulator import VenueSimulator
from execution.venue.clock import RETRY_SECONDS
from execution.venue.gateway import default_gateway
from tests.copytrading.pipeline.conftest import CONDITION, KEYS, follow, leader_buy, speed_account
from tests.factories import make_account, make_leader, shared_deployment

pytestmark = pytest.mark.django_db


def run(trade_id: int) -> list[CopyTrade]:
    deployment = shared_deployment()
    result = fanout_leader_trade(leader_trade_id=trade_id, deployment=deployment)
    copytrades_execute(ids=result.pending_ids, deployment=deployment)
    return list(CopyTrade.objects.filter(leader_trade_id=trade_id).order_by("id"))


def test_a_speed_copy_is_signed_once_filled_and_confirmed(sim: VenueSimulator) -> None:
    account = speed_account(sim)
    relationship = follow(account, sizing_value=Decimal(10))
    (row,) = run(leader_buy(relationship.leader).id)
    assert row.status == CopyTrade.Status.FILLED, (row.reason_code, row.reason_detail)
    assert row.order_hash
    assert sim.order(row.order_hash) is not None
    assert row.planned_usdc == Decimal(10)
    assert row.planned_price == Decimal("0.57")
    assert row.size_matched > 0
    sim.advance_trades(to="CONFIRMED")
    reconcile_due(deployment=shared_deployment(), now=row.next_check_at)
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.CONFIRMED
    position = Position.objects.get(relationship=relationship)
    assert position.shares == row.size_matched
    assert len(sim.orders()) == 1
    # The market charges takers 4 % on the p(1-p) curve: the fee the venue took is recorded and
    # counted in the position's cost, to the last unit of pUSD the wallet paid.
    spent = Decimal(1000) - sim.balances(account.signer_address)["pusd"]
    expected_fee = (row.size_matched * Decimal("0.04") * Decimal("0.57") * Decimal("0.43")).quantize(
        Decimal("0.00001"), rounding=ROUND_FLOOR
    )
    assert row.fee_usdc == expected_fee > 0
    assert row.fill_usdc + row.fee_usdc == spent
    assert position.cost_usdc == spent


def test_a_paper_copy_fills_against_the_book_without_keys(sim: VenueSimulator) -> None:
    relationship = follow(make_account(), sizing_value=Decimal(20))
    (row,) = run(leader_buy(relationship.leader).id)
    assert row.status == CopyTrade.Status.CONFIRMED
    assert row.order_hash is None
    assert row.fill_price is not None
    assert abs(row.fill_price - Decimal("0.57")) < Decimal("0.0001")
    assert row.fill_usdc <= Decimal(20)
    assert Position.objects.get(relationship=relationship).shares == row.size_matched
    assert sim.orders() == []


def test_a_price_past_the_slippage_limit_is_skipped_with_the_numbers(sim: VenueSimulator) -> None:
    relationship = follow(make_account(), slippage_bps=100)
    (row,) = run(leader_buy(relationship.leader, price=Decimal("0.50")).id)
    assert row.status == CopyTrade.Status.SKIPPED
    assert row.reason_code == "slippage"
    assert "14.0 %" in row.reason_detail


def test_a_copy_under_one_dollar_is_skipped(sim: VenueSimulator) -> None:
    relationship = follow(make_account(), sizing_value=Decimal("0.5"))
    (row,) = run(leader_buy(relationship.leader).id)
    assert (row.status, row.reason_code) == (CopyTrade.Status.SKIPPED, "below_min_size")


def test_a_copy_of_a_leader_trade_retracted_by_a_reorg_is_skipped(sim: VenueSimulator) -> None:
    relationship = follow(make_account())
    trade = leader_buy(relationship.leader)
    deployment = shared_deployment()
    result = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment)
    trade.status = trade.Status.RETRACTED
    trade.save(update_fields=["status"])
    copytrades_execute(ids=result.pending_ids, deployment=deployment)
    row = CopyTrade.objects.get(leader_trade=trade)
    assert (row.status, row.reason_code) == (CopyTrade.Status.SKIPPED, "leader_retracted")
    assert sim.orders() == []


def test_market_lists_by_condition_id_hold_for_a_trade_seen_on_chain_without_one(sim: VenueSimulator) -> None:
    """A chain-detected trade carries only its token id: fan-out cannot match a condition id, so
    execute checks the lists again against the venue's market info, before anything is signed."""
    account = speed_account(sim)
    leader = make_leader()
    denied = follow(account, leader, market_deny=[CONDITION.upper().replace("0X", "0x")])
    allowed = follow(speed_account(sim, key=KEYS[1]), leader, market_allow=[CONDITION])
    elsewhere = follow(speed_account(sim, key=KEYS[2]), leader, market_allow=["0x" + "ab" * 32])
    trade = leader_buy(leader)
    assert trade.condition_id == ""
    rows = {row.relationship_id: row for row in run(trade.id)}
    assert rows[denied.id].status == CopyTrade.Status.SKIPPED
    assert rows[denied.id].reason_code == "market_denied"
    assert rows[elsewhere.id].status == CopyTrade.Status.SKIPPED
    assert rows[elsewhere.id].reason_code == "market_not_allowed"
    assert rows[allowed.id].status == CopyTrade.Status.FILLED
    assert [order["id"] for order in sim.orders()] == [rows[allowed.id].order_hash]


def test_without_the_venues_time_nothing_is_judged_or_sent_until_it_answers_again(
    sim: VenueSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """S37's degraded mode: no trusted venue time (GET /time failing since this process started).
    Fan-out does not judge ages blind, execute hands the copies back untouched and logs why; once
    the venue's clock answers, the same copy is judged on it (here: stale)."""
    relationship = follow(speed_account(sim), sizing_value=Decimal(10))
    trade = leader_buy(relationship.leader, occurred_at=timezone.now() - timedelta(minutes=5))
    fault = sim.add_fault("error_before", "GET /time", count=None)
    deployment = shared_deployment()
    with caplog.at_level(logging.WARNING):
        pending = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment).pending_ids
        assert len(pending) == 1  # not judged stale without the venue's clock: execute will
        assert copytrades_execute(ids=pending, deployment=deployment) == 0
    row = CopyTrade.objects.get(id=pending[0])
    assert (row.status, row.attempts, row.order_hash) == (CopyTrade.Status.PENDING, 0, None)
    assert row.reason_detail.startswith("venue unavailable: no trusted venue time")
    assert "fan-out: leader trade ages not judged here, no trusted venue time" in caplog.text
    assert "no trusted venue time, retried in 2 s" in caplog.text
    assert sim.orders() == []

    sim.faults_remove(fault.fault_id)
    time.sleep(RETRY_SECONDS)  # a failed read is tried again after this pause
    assert default_gateway().clock.reading().offset_seconds is not None
    copytrades_execute(ids=pending, deployment=deployment)
    row.refresh_from_db()
    assert (row.status, row.reason_code) == (CopyTrade.Status.SKIPPED, "stale")
