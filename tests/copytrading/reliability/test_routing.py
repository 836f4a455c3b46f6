"""RUN_MODE routing under the pipeline's own entry points: a user_dedicated worker never touches
another deployment's rows and a shared worker never touches a dedicated one's — fan-out, execute,
reconcile and sweep run as each deployment against the other's rows. And what happened is
visible on the rows: the deployment that made them, and the reason codes of pauses and switches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse

from copytrading.controls import leader_set_paused, relationship_set_status
from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyRelationship, CopyTrade, Deployment
from copytrading.pipeline.reconcile import reconcile_due
from copytrading.pipeline.sweep import sweep_deployment
from copytrading.reasons import Reason
from copytrading.tasks import execute_copy_trades, reconcile_deployment
from execution.models import TradingSwitch
from execution.switches import switch_set
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import (
    Venue,
    follow,
    fresh,
    leader_buy,
    reconcile_until_settled,
    rows_of,
    speed_account,
)
from tests.copytrading.reliability.invariants import staff_client
from tests.factories import make_leader, shared_deployment

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot(row: CopyTrade) -> tuple[object, ...]:
    row = fresh(row)
    return (row.status, row.lease_version, row.attempts, row.next_check_at, row.updated_at)


def test_a_dedicated_worker_never_touches_shared_rows_and_a_shared_worker_never_touches_dedicated_ones(
    venue: Venue, check: Checker
) -> None:
    shared = shared_deployment()
    dedicated = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    leader = make_leader()
    on_shared = follow(speed_account(venue, n=1), leader=leader)
    on_dedicated = follow(speed_account(venue, n=2), leader=leader, deployment=dedicated)
    trade = leader_buy(leader)

    # Fan-out: each deployment creates rows for its own follows only, tagged with itself.
    fanout_leader_trade(leader_trade_id=trade.id, deployment=shared)
    (shared_row,) = rows_of(trade)
    assert (shared_row.relationship_id, shared_row.deployment_id) == (on_shared.id, shared.id)
    fanout_leader_trade(leader_trade_id=trade.id, deployment=dedicated)
    dedicated_row = CopyTrade.objects.get(relationship=on_dedicated)
    assert dedicated_row.deployment_id == dedicated.id
    both = [shared_row.id, dedicated_row.id]

    # Execute: the dedicated worker (RUN_MODE=user_dedicated, DEPLOYMENT_ID=vip) is handed both ids.
    before = snapshot(shared_row)
    with override_settings(RUN_MODE="user_dedicated", DEPLOYMENT_ID="vip"):
        execute_copy_trades.fn(both)
    assert snapshot(shared_row) == before
    assert fresh(dedicated_row).status == CopyTrade.Status.FILLED

    # Reconcile and sweep as the shared deployment, far in the future: the dedicated row is not its.
    before = snapshot(dedicated_row)
    later = fresh(dedicated_row).created_at + timedelta(minutes=30)
    with override_settings(RUN_MODE="shared_backend", DEPLOYMENT_ID="shared"):
        execute_copy_trades.fn(both)
        reconcile_deployment.fn("vip")  # a message for another deployment's lane: ignored
        reconcile_due(deployment=shared, now=later)
        sweep_deployment(deployment=shared, now=later)
    assert snapshot(dedicated_row) == before
    assert fresh(shared_row).status == CopyTrade.Status.FILLED

    # And the other way round, for the reconciler and the sweeper.
    before = snapshot(shared_row)
    reconcile_due(deployment=dedicated, now=later)
    sweep_deployment(deployment=dedicated, now=later)
    assert snapshot(shared_row) == before

    reconcile_until_settled(shared, venue=venue)
    reconcile_until_settled(dedicated, venue=venue)
    assert {fresh(shared_row).status, fresh(dedicated_row).status} == {CopyTrade.Status.CONFIRMED}
    assert len(venue.sim.orders()) == 2
    check()


def test_routing_pauses_and_the_kill_switch_are_visible_on_the_rows_and_in_the_admin(
    venue: Venue, check: Checker
) -> None:
    shared = shared_deployment()
    dedicated = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    paused_leader = make_leader()
    follow(speed_account(venue, n=1), leader=paused_leader)
    leader_set_paused(leader=paused_leader, paused=True, actor="ops", reason="suspicious wallet")
    leader = make_leader()
    paused_follow = follow(speed_account(venue, n=2), leader=leader)
    relationship_set_status(
        relationship=paused_follow, status=CopyRelationship.Status.PAUSED, actor="follower", reason="holiday"
    )
    killed = follow(speed_account(venue, n=3), leader=leader, deployment=dedicated)

    trades = [leader_buy(paused_leader), leader_buy(leader)]
    for trade in trades:
        for deployment in (shared, dedicated):
            fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment)
    switch_set(name=TradingSwitch.Name.KILL_SWITCH, engaged=True, actor="ops", reason="venue incident")
    with override_settings(RUN_MODE="user_dedicated", DEPLOYMENT_ID="vip"):
        execute_copy_trades.fn([row.id for row in rows_of(trades)])

    seen = {(row.relationship.leader_id, row.deployment.key, row.status, row.reason_code) for row in rows_of(trades)}
    assert seen == {
        (paused_leader.id, "shared", CopyTrade.Status.SKIPPED, Reason.LEADER_PAUSED),
        (leader.id, "shared", CopyTrade.Status.SKIPPED, Reason.FOLLOW_PAUSED),
        (leader.id, "vip", CopyTrade.Status.BLOCKED, Reason.KILL_SWITCH),
    }
    assert CopyTrade.objects.get(relationship=killed).order_hash is None
    assert venue.proxy.order_posts() == []

    page = staff_client().get(reverse("admin:copytrading_copytrade_changelist")).content.decode()
    for words in ("staff paused copying of this leader", "this follow is paused", "the platform kill switch is on"):
        assert words in page
    blocked = staff_client().get(reverse("admin:copytrading_copytrade_changelist"), {"blocked_by": "kill_switch"})
    assert blocked.content.decode().count(">vip<") >= 1
    check()
