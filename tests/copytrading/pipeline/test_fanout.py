from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade, Position
from execution.simulator import VenueSimulator
from tests.factories import (
    TOKEN_YES,
    make_account,
    make_leader,
    make_leader_trade,
    make_relationship,
    shared_deployment,
)

pytestmark = pytest.mark.django_db


def dedicated(key: str = "vip") -> Deployment:
    return Deployment.objects.create(key=key, kind=Deployment.Kind.USER_DEDICATED)


def statuses(trade: LeaderTrade) -> dict[int, tuple[str, str]]:
    return {ct.relationship_id: (ct.status, ct.reason_code) for ct in CopyTrade.objects.filter(leader_trade=trade)}


def test_it_creates_one_pending_copy_per_active_follow(django_capture_on_commit_callbacks: Any) -> None:
    leader = make_leader()
    follows = [make_relationship(leader=leader) for _ in range(3)]
    trade = make_leader_trade(leader=leader)
    with django_capture_on_commit_callbacks() as callbacks:
        result = fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment())
    assert result.created == 3
    assert len(result.pending_ids) == 3
    assert {f.id for f in follows} == set(statuses(trade))
    assert all(s == (CopyTrade.Status.PENDING, "") for s in statuses(trade).values())
    assert len(callbacks) == 1
    trade.refresh_from_db()
    assert trade.status == LeaderTrade.Status.FANNED_OUT


def test_a_second_delivery_creates_nothing_new() -> None:
    leader = make_leader()
    make_relationship(leader=leader)
    trade = make_leader_trade(leader=leader)
    fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment())
    again = fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment())
    assert again.created == 0
    assert again.pending_ids == []
    assert CopyTrade.objects.count() == 1


def test_it_writes_skipped_rows_with_their_reason() -> None:
    leader = make_leader()
    paused = make_relationship(leader=leader, status=CopyRelationship.Status.PAUSED)
    account_paused = make_relationship(leader=leader, account=make_account(paused=True))
    banded = make_relationship(leader=leader, price_max=Decimal("0.50"))
    denied = make_relationship(leader=leader, market_deny=[TOKEN_YES])
    allowed_elsewhere = make_relationship(leader=leader, market_allow=["0xabc"])
    stopped = make_relationship(leader=leader, status=CopyRelationship.Status.STOPPED)
    trade = make_leader_trade(leader=leader, price=Decimal("0.56"), condition_id="0x" + "cd" * 32)
    fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment())
    found = statuses(trade)
    assert found[paused.id] == ("skipped", "follow_paused")
    assert found[account_paused.id] == ("skipped", "account_paused")
    assert found[banded.id] == ("skipped", "price_outside_band")
    assert found[denied.id] == ("skipped", "market_denied")
    assert found[allowed_elsewhere.id] == ("skipped", "market_not_allowed")
    assert stopped.id not in found


def test_an_allow_list_is_left_to_execute_when_the_trade_has_no_condition_id() -> None:
    """A trade seen on chain carries only its token: "0xabc" could be its market's condition id."""
    leader = make_leader()
    allowed_elsewhere = make_relationship(leader=leader, market_allow=["0xabc"])
    denied = make_relationship(leader=leader, market_deny=[TOKEN_YES])
    trade = make_leader_trade(leader=leader, price=Decimal("0.56"))
    fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment())
    found = statuses(trade)
    assert found[allowed_elsewhere.id] == ("pending", "")
    assert found[denied.id] == ("skipped", "market_denied")


def test_a_leader_sell_is_an_exit_only_for_follows_that_hold_the_token() -> None:
    leader = make_leader()
    holder = make_relationship(leader=leader)
    empty = make_relationship(leader=leader)
    no_sells = make_relationship(leader=leader, copy_sells=False)
    Position.objects.create(
        account=holder.account, relationship=holder, token_id=TOKEN_YES, shares=Decimal(10), cost_usdc=Decimal(5)
    )
    trade = make_leader_trade(leader=leader, side="SELL")
    fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment())
    found = statuses(trade)
    assert found[holder.id] == ("pending", "")
    assert CopyTrade.objects.get(relationship=holder).lane == CopyTrade.Lane.EXIT
    assert found[empty.id] == ("skipped", "nothing_to_sell")
    assert found[no_sells.id] == ("skipped", "copy_sells_off")


def test_a_stale_leader_trade_is_skipped_for_everyone(sim: VenueSimulator) -> None:
    # Aged on the venue's clock (GET /time): the simulator's.
    leader = make_leader()
    follow = make_relationship(leader=leader)
    trade = make_leader_trade(leader=leader, occurred_at=timezone.now() - timedelta(hours=1))
    fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment())
    assert statuses(trade)[follow.id] == ("skipped", "stale")


def test_routing_each_deployment_creates_rows_only_for_its_own_follows() -> None:
    vip = dedicated()
    leader = make_leader()
    shared_follow = make_relationship(leader=leader)
    vip_follow = make_relationship(leader=leader, deployment=vip)
    trade = make_leader_trade(leader=leader)
    fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment())
    assert set(statuses(trade)) == {shared_follow.id}
    fanout_leader_trade(leader_trade_id=trade.id, deployment=vip)
    rows = {ct.relationship_id: ct.deployment.key for ct in CopyTrade.objects.filter(leader_trade=trade)}
    assert rows == {shared_follow.id: "shared", vip_follow.id: "vip"}


def test_a_follow_rerouted_after_a_trade_is_obeyed_at_the_next_fanout() -> None:
    vip = dedicated()
    leader = make_leader()
    follow = make_relationship(leader=leader)
    first = make_leader_trade(leader=leader)
    fanout_leader_trade(leader_trade_id=first.id, deployment=shared_deployment())
    CopyRelationship.objects.filter(id=follow.id).update(deployment=vip)
    second = make_leader_trade(leader=leader)
    assert fanout_leader_trade(leader_trade_id=second.id, deployment=shared_deployment()).created == 0
    assert fanout_leader_trade(leader_trade_id=second.id, deployment=vip).created == 1
