"""Positions marked to the book; stop-loss / take-profit exits through the same pipeline."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from copytrading.models import CopyRelationship, CopyTrade, Position
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.reconcile import reconcile_due
from copytrading.protection import positions_protect
from execution.simulator import VenueSimulator
from execution.switches import switch_set
from tests.copytrading.pipeline.conftest import follow, speed_account
from tests.factories import TOKEN_YES, make_account, make_copy_trade, make_leader, make_leader_trade, shared_deployment

pytestmark = pytest.mark.django_db


def holding(relationship_id: int, *, shares: str = "20", cost: str = "11.20") -> Position:
    relationship = CopyRelationship.objects.get(id=relationship_id)
    return Position.objects.create(
        account=relationship.account,
        relationship=relationship,
        token_id=TOKEN_YES,
        shares=Decimal(shares),
        cost_usdc=Decimal(cost),
    )


def exits() -> list[CopyTrade]:
    return list(CopyTrade.objects.exclude(trigger=CopyTrade.Trigger.LEADER).order_by("id"))


def test_open_positions_are_marked_at_the_best_bid(sim: VenueSimulator) -> None:
    relationship = follow(make_account())
    position = holding(relationship.id)
    result = positions_protect(deployment=shared_deployment())
    position.refresh_from_db()
    assert result.marked == 1
    assert position.mark_price == Decimal("0.55")
    assert position.unrealized_pnl_usdc == Decimal("-0.20")
    assert exits() == []


def test_a_crossed_stop_loss_sells_the_whole_position_and_is_confirmed(sim: VenueSimulator) -> None:
    relationship = follow(speed_account(sim, shares={TOKEN_YES: "20"}), stop_loss_pct=Decimal(10))
    holding(relationship.id, shares="20", cost="14.00")  # bought at 0.70; the bid is 0.55: -21 %
    deployment = shared_deployment()
    assert positions_protect(deployment=deployment).triggered == 1
    (row,) = exits()
    assert (row.trigger, row.side, row.lane, row.signal_price) == ("stop_loss", "SELL", "exit", Decimal("0.55"))
    copytrades_execute(ids=[row.id], deployment=deployment)
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.FILLED, (row.reason_code, row.reason_detail)
    assert row.planned_size == Decimal(20)
    sim.advance_trades(to="CONFIRMED")
    reconcile_due(deployment=deployment, now=row.next_check_at)
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.CONFIRMED
    position = Position.objects.get(relationship=relationship)
    assert position.shares == 0
    assert position.realized_pnl_usdc < 0


def test_a_take_profit_triggers_once_even_when_checked_again(sim: VenueSimulator) -> None:
    relationship = follow(make_account(), take_profit_pct=Decimal(20))
    holding(relationship.id, shares="20", cost="8.00")  # bought at 0.40; the bid is 0.55: +37.5 %
    deployment = shared_deployment()
    assert positions_protect(deployment=deployment).triggered == 1
    assert positions_protect(deployment=deployment).triggered == 0
    assert [e.trigger for e in exits()] == ["take_profit"]


def test_no_protective_exit_while_another_sell_of_the_position_is_working(sim: VenueSimulator) -> None:
    relationship = follow(make_account(), stop_loss_pct=Decimal(5))
    holding(relationship.id, shares="20", cost="14.00")
    make_copy_trade(
        relationship=relationship,
        leader_trade=make_leader_trade(leader=relationship.leader, side="SELL"),
        status=CopyTrade.Status.PENDING,
    )
    assert positions_protect(deployment=shared_deployment()).triggered == 0


def test_the_database_refuses_a_second_open_protective_exit(sim: VenueSimulator) -> None:
    relationship = follow(make_account(), stop_loss_pct=Decimal(5))
    holding(relationship.id, shares="20", cost="14.00")
    positions_protect(deployment=shared_deployment())
    (row,) = exits()
    with pytest.raises(IntegrityError), transaction.atomic():
        CopyTrade.objects.create(
            relationship=relationship,
            account=relationship.account,
            trigger="take_profit",
            signal_price=Decimal("0.5"),
            signal_at=row.signal_at,
            deployment=row.deployment,
            lane="exit",
            side="SELL",
            token_id=TOKEN_YES,
            deadline_at=row.deadline_at,
        )


def test_a_paper_stop_loss_fills_against_the_book_and_a_leader_pause_does_not_hold_it(sim: VenueSimulator) -> None:
    leader = make_leader(paused=True)
    relationship = follow(make_account(), leader=leader, stop_loss_pct=Decimal(10))
    holding(relationship.id, shares="20", cost="14.00")
    deployment = shared_deployment()
    positions_protect(deployment=deployment)
    (row,) = exits()
    copytrades_execute(ids=[row.id], deployment=deployment)
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.CONFIRMED, (row.reason_code, row.reason_detail)
    assert Position.objects.get(relationship=relationship).shares == 0


def test_the_kill_switch_blocks_a_protective_exit_too(sim: VenueSimulator) -> None:
    relationship = follow(make_account(), stop_loss_pct=Decimal(10))
    holding(relationship.id, shares="20", cost="14.00")
    deployment = shared_deployment()
    positions_protect(deployment=deployment)
    switch_set(name="kill_switch", engaged=True, actor="test", reason="incident")
    (row,) = exits()
    copytrades_execute(ids=[row.id], deployment=deployment)
    row.refresh_from_db()
    assert (row.status, row.reason_code) == (CopyTrade.Status.BLOCKED, "kill_switch")
