"""Scenarios about a venue that stops being usable, for everyone or for one follower
(docs/reliability.md, S30, S40)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.execute import copytrades_execute
from copytrading.reasons import Reason
from execution.guardrails.breaker import breaker_is_open
from execution.venue.auth import open_api_credentials
from polyhunter.models import AuditEvent
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import (
    OPEN,
    Venue,
    follow,
    fresh,
    leader_buy,
    limits,
    reconcile_until_settled,
    speed_account,
)
from tests.factories import make_leader

pytestmark = pytest.mark.django_db(transaction=True)
WINDOW = 60


def breaker_open() -> bool:
    return breaker_is_open(window_seconds=WINDOW, min_orders=10, ratio=Decimal("0.4"))


def test_s30_a_burst_of_unknown_outcomes_opens_the_breaker_new_copies_wait_and_the_reconciler_still_resolves(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    limits(breaker_window_seconds=WINDOW, breaker_min_orders=10, breaker_unknown_ratio=Decimal("0.4"))
    leader = make_leader()
    for n in range(30):
        follow(speed_account(venue, n=n), leader=leader)
    # Half the answers are lost after the venue committed the order (client timeouts).
    venue.sim.add_fault("drop", "POST /order", count=None, probability=0.5)
    ids = fanout_leader_trade(leader_trade_id=leader_buy(leader).id, deployment=deployment).pending_ids
    for start in range(0, len(ids), 5):  # workers taking the burst five copies at a time
        copytrades_execute(ids=ids[start : start + 5], deployment=deployment)
    rows = [fresh(CopyTrade(id=i)) for i in ids]
    blocked = [row for row in rows if row.reason_code == Reason.BREAKER_OPEN]
    sent = [row for row in rows if row.order_hash]
    assert breaker_open()
    assert blocked, "the breaker never opened"
    assert all(row.status == CopyTrade.Status.BLOCKED and row.signed_order is None for row in blocked)
    # Submissions paused: every POST the venue saw is one of the orders signed before it opened.
    assert len(venue.proxy.order_posts()) == len(sent) == len(rows) - len(blocked)
    assert any(row.status == CopyTrade.Status.UNKNOWN for row in sent)

    # The reconciler keeps resolving what is out while the breaker is open (lookups are not
    # submissions): every unknown outcome ends CONFIRMED, with no new order.
    venue.sim.clear_faults()
    reconcile_until_settled(deployment, venue=venue)
    assert breaker_open()
    assert {fresh(row).status for row in sent} == {CopyTrade.Status.CONFIRMED}
    assert len(venue.proxy.order_posts()) == len(sent)

    # Once the lost answers age out of the window the next copy is the probe: it goes out.
    with time_machine.travel(timezone.now() + timedelta(seconds=WINDOW + 1), tick=True):
        assert not breaker_open()
        probe = fanout_leader_trade(leader_trade_id=leader_buy(leader).id, deployment=deployment).pending_ids[:1]
        assert copytrades_execute(ids=probe, deployment=deployment) == 1
        assert CopyTrade.objects.get(id=probe[0]).status == CopyTrade.Status.FILLED
    check()


def test_s40_a_revoked_api_key_pauses_that_follower_after_one_refusal_and_the_others_keep_copying(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    revoked = speed_account(venue, n=1)
    other = speed_account(venue, n=2)
    leader = make_leader()
    for account in (revoked, other):
        follow(account, leader=leader)
    venue.sim.revoke_api_key(open_api_credentials(account=revoked).key)

    for _ in range(3):
        ids = fanout_leader_trade(leader_trade_id=leader_buy(leader).id, deployment=deployment).pending_ids
        copytrades_execute(ids=ids, deployment=deployment)
    reconcile_until_settled(deployment, venue=venue)

    mine = list(CopyTrade.objects.filter(account=revoked).order_by("id"))
    assert (mine[0].status, mine[0].reason_code, mine[0].venue_status) == (
        CopyTrade.Status.REJECTED,
        Reason.VENUE_REJECTED,
        "unauthorized",
    )
    # Paused after the first refusal, with an audited reason: the next copies are not even signed.
    assert [(row.status, row.reason_code) for row in mine[1:]] == [
        (CopyTrade.Status.SKIPPED, Reason.ACCOUNT_PAUSED)
    ] * 2
    account = TradingAccount.objects.get(id=revoked.id)
    assert account.paused
    assert AuditEvent.objects.filter(actor_label="system:venue", reason__contains="API key").exists()
    # No retry storm: one POST with the refused key, nothing from the reconciler.
    posts = venue.proxy.order_posts()
    assert sum(1 for row in mine if row.submit_count) == 1
    # The other follower is unaffected.
    assert [row.status for row in CopyTrade.objects.filter(account=other)] == [CopyTrade.Status.CONFIRMED] * 3
    assert len(posts) == 4
    assert not CopyTrade.objects.filter(status__in=OPEN).exists()
    check()
