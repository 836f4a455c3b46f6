"""The circuit breaker counts venue halts as failures; long batches renew their lease."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.leases import claim, submit_lease
from copytrading.pipeline.submit import _renew
from execution.models import GuardrailSettings
from execution.simulator import VenueSimulator
from tests.copytrading.pipeline.conftest import follow, leader_buy, speed_account
from tests.factories import make_account, make_leader, shared_deployment

pytestmark = pytest.mark.django_db


def test_a_halted_venue_opens_the_breaker_and_new_copies_are_blocked(sim: VenueSimulator) -> None:
    GuardrailSettings.objects.update_or_create(id=1, defaults={"breaker_min_orders": 3, "breaker_window_seconds": 60})
    account = speed_account(sim)
    sim.set_trading_mode("cancel_only")
    leaders = [make_leader() for _ in range(4)]
    for leader in leaders:
        follow(account, leader=leader, sizing_value=Decimal(5))
    rows = []
    deployment = shared_deployment()
    for leader in leaders:
        trade = leader_buy(leader)
        result = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment)
        copytrades_execute(ids=result.pending_ids, deployment=deployment)
        rows.append(CopyTrade.objects.get(leader_trade=trade))
    assert [r.status for r in rows[:3]] == [CopyTrade.Status.SIGNED] * 3
    assert all(r.reason_code == "retry_later:cancel_only" for r in rows[:3])
    assert (rows[3].status, rows[3].reason_code) == (CopyTrade.Status.BLOCKED, "breaker_open")
    assert sim.orders() == []


def test_renewing_a_lease_gives_up_the_rows_another_worker_took(sim: VenueSimulator) -> None:
    leader = make_leader()
    for _ in range(2):
        follow(make_account(), leader=leader)
    trade = leader_buy(leader)
    deployment = shared_deployment()
    ids = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment).pending_ids
    mine = claim(ids=ids, deployment=deployment)
    # Another worker took the second row over (its lease had run out): its version moved on.
    CopyTrade.objects.filter(id=mine[1].id).update(lease_version=mine[1].lease_version + 1)
    renewed_at = timezone.now()
    lost = _renew(mine)
    assert lost == {mine[1].id}
    kept = CopyTrade.objects.get(id=mine[0].id)
    assert kept.lease_until is not None
    assert kept.lease_until >= renewed_at + submit_lease()  # the submit lease, from the renewal
