"""S29: the kill switch flipped during a burst of queued copies, with real Dramatiq workers on the
configured broker (Redis when REDIS_URL is set, the in-process broker otherwise)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Deployment
from copytrading.reasons import Reason
from execution.models import TradingSwitch
from execution.switches import SwitchError, switch_set, switch_state
from polyhunter.models import AuditEvent
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import (
    Evidence,
    Venue,
    follow,
    leader_buy,
    reconcile_until_settled,
    speed_account,
    wait_for,
)
from tests.copytrading.reliability.test_broker import drain, workers
from tests.factories import make_leader

pytestmark = pytest.mark.django_db(transaction=True)


def test_s29_the_kill_switch_during_a_burst_of_100_queued_copies_stops_every_post_not_already_in_flight(
    venue: Venue, deployment: Deployment, evidence: Evidence, check: Checker
) -> None:
    leaders = [make_leader() for _ in range(10)]
    for n in range(10):
        account = speed_account(venue, n=n)
        for leader in leaders:
            follow(account, leader=leader, sizing_value=Decimal(2))
    evidence.broker.flush_all()
    ids = [
        i
        for leader in leaders
        for i in fanout_leader_trade(leader_trade_id=leader_buy(leader).id, deployment=deployment).pending_ids
    ]
    assert len(ids) == 100
    # Every order takes the venue a moment, so the switch lands in the middle of a batch.
    venue.sim.add_fault("delay", "POST /order", count=None, delay_ms=40)
    threads = 2
    with workers(evidence.broker, threads=threads):
        wait_for(lambda: len(venue.proxy.order_posts()) >= 5, what="the burst to start")
        switch_set(name=TradingSwitch.Name.KILL_SWITCH, engaged=True, actor="ops:reliability", reason="burst test")
        flipped = time.time()
        drain(evidence.broker)
    posts = venue.proxy.order_posts()
    late = [post for post in posts if post.at > flipped]
    assert len(late) <= threads, f"{len(late)} POSTs started after the kill switch was visible"

    rows = list(CopyTrade.objects.filter(id__in=ids))
    blocked = [row for row in rows if row.status == CopyTrade.Status.BLOCKED]
    assert blocked
    assert all(row.reason_code == Reason.KILL_SWITCH for row in blocked)
    assert all(row.submit_count == 0 for row in blocked)
    assert len(blocked) + len(posts) == 100
    # Latched: a script cannot release it, staff must; the engagement is in the audit trail.
    with pytest.raises(SwitchError):
        switch_set(name=TradingSwitch.Name.KILL_SWITCH, engaged=False, actor="ops:reliability", reason="undo")
    assert switch_state(TradingSwitch.Name.KILL_SWITCH).engaged
    assert AuditEvent.objects.filter(action="switch.kill_switch.engage", reason="burst test").count() == 1

    venue.sim.clear_faults()
    reconcile_until_settled(deployment, venue=venue)
    assert len(venue.proxy.order_posts()) == len(posts)
    assert venue.sim.orders(status="LIVE") == []  # nothing rests to cancel: copies are FAK
    check()
