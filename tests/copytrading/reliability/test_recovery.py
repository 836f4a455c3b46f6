"""Recovery at scale (issue 17, fix 1): rows needing recovery are handed straight back and resent as
the same bytes, overlapping reconciler runs take disjoint batches, a backlog is split over workers,
and fills are confirmed from one trades read per account."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import dramatiq
import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.due import take_due
from copytrading.pipeline.recovery import AWAITING, recover_due
from copytrading.pipeline.settle import settle_due
from polyhunter.broker import stop_worker
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import (
    Evidence,
    Venue,
    execute,
    follow,
    fresh,
    leader_buy,
    pending_copy,
    ready_at,
    reconcile_until_settled,
    speed_account,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


def posts_of(venue: Venue, row: CopyTrade) -> int:
    assert row.signed_order is not None
    return sum(1 for post in venue.proxy.order_posts() if post.body == row.signed_order["body"])


@pytest.fixture
def recovery_worker(evidence: Evidence) -> Iterator[dramatiq.Worker]:
    """A real Dramatiq worker on the shared deployment's recovery lane only (no scheduler, no sweep)."""
    worker = dramatiq.Worker(evidence.broker, queues={"shared.reconcile"}, worker_threads=2, worker_timeout=50)
    worker.start()
    yield worker
    stop_worker(worker)


def unknown_rows(venue: Venue, deployment: Deployment, count: int) -> list[CopyTrade]:
    """``count`` copies of one follower whose orders the venue placed and whose answers were lost."""
    relationship = follow(speed_account(venue, n=1))
    from copytrading.fanout import fanout_leader_trade

    ids = [
        fanout_leader_trade(leader_trade_id=leader_buy(relationship.leader).id, deployment=deployment).pending_ids[0]
        for _ in range(count)
    ]
    venue.sim.add_fault("drop", "POST /order", count=count)
    rows = execute(deployment, *CopyTrade.objects.filter(id__in=ids).order_by("id"))
    assert {row.status for row in rows} == {CopyTrade.Status.UNKNOWN}
    return rows


def _due(rows: list[CopyTrade]) -> datetime:
    return max(ready_at(fresh(row)) for row in rows)


def test_a_transiently_refused_order_is_handed_straight_back_and_resent_as_the_same_bytes(
    venue: Venue, deployment: Deployment, recovery_worker: dramatiq.Worker, check: Checker
) -> None:
    """Issue 17, fix 1: 673 copies of the soak were refused transiently (429, 425, 503) and none
    was resent — they waited for a reconciler minutes behind and expired; "not one resend of the
    same bytes happened in the whole run". The refusal now hands the row straight back: a message
    due after the backoff resends the stored bytes, with no periodic pass running at all."""
    row = pending_copy(venue, deployment)
    venue.sim.add_fault("rate_limit", "POST /order", retry_after_s=1)
    (row,) = execute(deployment, row)
    assert (row.status, row.reason_code) == (CopyTrade.Status.SIGNED, "retry_later:rate_limited")
    assert row.outcome_unknown_at is not None
    signed_bytes, order_hash = row.signed_order, row.order_hash

    wait_for(lambda: fresh(row).status == CopyTrade.Status.FILLED, timeout=30, what="the resend")
    row = fresh(row)
    assert (row.signed_order, row.order_hash) == (signed_bytes, order_hash)
    assert posts_of(venue, row) == row.submit_count == 2
    assert [o["id"] for o in venue.sim.orders()] == [order_hash]
    assert row.outcome_unknown_at is not None
    assert row.outcome_resolved_at is not None
    assert row.outcome_unknown_at < row.outcome_resolved_at
    reconcile_until_settled(deployment, venue=venue)
    assert fresh(row).status == CopyTrade.Status.CONFIRMED
    check()


def test_a_lost_answer_is_handed_back_and_found_by_its_hash_without_a_periodic_pass(
    venue: Venue, deployment: Deployment, recovery_worker: dramatiq.Worker, check: Checker
) -> None:
    (row,) = unknown_rows(venue, deployment, 1)
    wait_for(lambda: fresh(row).status == CopyTrade.Status.FILLED, timeout=30, what="the lookup")
    row = fresh(row)
    assert posts_of(venue, row) == row.submit_count == 1
    assert row.outcome_unknown_at is not None
    assert row.outcome_resolved_at is not None
    assert row.outcome_unknown_at <= row.outcome_resolved_at
    reconcile_until_settled(deployment, venue=venue)
    check()


def test_overlapping_reconciler_runs_take_disjoint_batches_and_together_cover_every_due_row(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    """Issue 17, fix 1: the reconciler chose its 200 due ids without regard to leases and then tried
    to lease them, so a run starting while another worked chose the same ids and got none — extra
    workers added nothing. A run now leases the most overdue *unleased* rows in one statement."""
    rows = unknown_rows(venue, deployment, 6)
    due = _due(rows)
    venue.sim.add_fault("delay", "GET /data/order/{order_id}", count=None, delay_ms=300)
    first: list[int] = []

    def run() -> None:
        try:
            first.append(recover_due(deployment=deployment, now=due, limit=3))
        finally:
            close_old_connections()

    slow = threading.Thread(target=run)
    slow.start()
    wait_for(
        lambda: CopyTrade.objects.filter(id__in=[r.id for r in rows]).exclude(lease_owner="").count() == 3,
        what="the first run to lease its batch",
    )
    second = recover_due(deployment=deployment, now=due, limit=3)
    slow.join(timeout=60)
    assert (first, second) == ([3], 3)
    assert {fresh(row).status for row in rows} == {CopyTrade.Status.FILLED}
    venue.sim.clear_faults()
    reconcile_until_settled(deployment, venue=venue)
    check()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED is PostgreSQL's")
def test_two_runs_picking_at_the_same_instant_skip_each_others_rows_instead_of_waiting(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    rows = unknown_rows(venue, deployment, 4)
    due = _due(rows)
    picked, release = threading.Event(), threading.Event()
    held: list[int] = []

    def hold() -> None:
        try:
            with transaction.atomic():  # the pick's row locks stay held until release
                held.extend(r.id for r in take_due(statuses=AWAITING, now=due, limit=2, deployment=deployment))
                picked.set()
                release.wait(timeout=60)
        finally:
            close_old_connections()

    holder = threading.Thread(target=hold)
    holder.start()
    assert picked.wait(timeout=30)
    other: list[int] = []
    runner = threading.Thread(
        target=lambda: other.extend(r.id for r in take_due(statuses=AWAITING, now=due, limit=2, deployment=deployment))
    )
    runner.start()
    runner.join(timeout=30)
    finished_while_held = not runner.is_alive()
    release.set()
    holder.join(timeout=30)
    runner.join(timeout=30)
    assert finished_while_held, "the second pick waited for the first one's locks"
    assert len(held) == len(other) == 2
    assert set(held).isdisjoint(other)
    assert set(held) | set(other) == {row.id for row in rows}
    reconcile_until_settled(deployment, venue=venue, start=max(timezone.now(), due))
    check()


def test_a_full_batch_asks_for_a_continuation_so_more_workers_share_a_backlog(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    rows = unknown_rows(venue, deployment, 3)
    due = _due(rows)
    asked: list[str] = []
    assert recover_due(deployment=deployment, now=due, limit=2, more=lambda: asked.append("more")) == 2
    assert asked == ["more"]
    assert recover_due(deployment=deployment, now=due, limit=2, more=lambda: asked.append("more")) == 1
    assert asked == ["more"]
    reconcile_until_settled(deployment, venue=venue)
    check()


def test_fills_are_confirmed_from_one_trades_read_per_account(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    """Issue 17, fix 1: fill confirmation asked the venue about each row's trades one by one (a GET
    per trade id), 23,000 FILLED rows deep in the soak. The venue's trade status is now read in
    bulk: every page of the account's trades since its oldest fill, once for all its rows."""
    relationship = follow(speed_account(venue, n=1))
    from copytrading.fanout import fanout_leader_trade

    ids = [
        fanout_leader_trade(leader_trade_id=leader_buy(relationship.leader).id, deployment=deployment).pending_ids[0]
        for _ in range(4)
    ]
    rows = execute(deployment, *CopyTrade.objects.filter(id__in=ids).order_by("id"))
    assert {row.status for row in rows} == {CopyTrade.Status.FILLED}
    venue.sim.advance_trades(to="CONFIRMED")
    before = venue.proxy.reads("/data/trades")
    assert settle_due(deployment=deployment, now=_due(rows)) == 4
    assert venue.proxy.reads("/data/trades") - before == 1
    rows = [fresh(row) for row in rows]
    assert {row.status for row in rows} == {CopyTrade.Status.CONFIRMED}
    assert all(row.fee_usdc > 0 and row.fill_usdc > 0 for row in rows)
    check()


def test_a_deployments_rows_are_recovered_only_by_its_own_runs(venue: Venue, check: Checker) -> None:
    shared = Deployment.objects.get_or_create(key="shared", defaults={"kind": Deployment.Kind.SHARED_BACKEND})[0]
    dedicated = Deployment.objects.create(key="vip-recovery", kind=Deployment.Kind.USER_DEDICATED)
    rows = unknown_rows(venue, shared, 2)
    due = _due(rows)
    assert recover_due(deployment=dedicated, now=due) == 0
    assert settle_due(deployment=dedicated, now=due) == 0
    assert recover_due(deployment=shared, now=due) == 2
    reconcile_until_settled(shared, venue=venue)
    check()
