"""Scenarios about processes (docs/pipeline.md, reliability suite): real worker processes killed, stopped and cut off
from their database at known points, against the simulated venue over HTTP."""

from __future__ import annotations

import signal
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Deployment, Position
from copytrading.pipeline.leases import submit_lease
from copytrading.pipeline.reconcile import copytrades_reconcile
from copytrading.reasons import Reason
from copytrading.tasks import execute_copy_trades
from execution.models import GuardrailSettings
from tests.copytrading.reliability.conftest import Checker, Spawner
from tests.copytrading.reliability.harness import (
    RUNDRAMATIQ,
    Evidence,
    Venue,
    execute,
    follow,
    fresh,
    leader_buy,
    pool_args,
    pool_env,
    ready_at,
    reconcile_once,
    reconcile_until_settled,
    speed_account,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def one_pending_copy(venue: Venue, deployment: Deployment, *, n: int = 1) -> CopyTrade:
    relationship = follow(speed_account(venue, n=n))
    trade = leader_buy(relationship.leader)
    (row_id,) = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment).pending_ids
    return CopyTrade.objects.get(id=row_id)


# Where Redis is configured (CI), the process scenarios also run against real Dramatiq worker
# pools (manage.py rundramatiq) consuming the real queue; everywhere, against worker processes
# running the service the actor calls.
KINDS = ["process", "dramatiq"] if settings.REDIS_URL else ["process"]
POOL = pool_args("shared.copies")


@pytest.mark.parametrize("kind", KINDS)
def test_s01_a_worker_killed_after_its_post_and_before_the_record_leaves_one_order_the_reconciler_records(
    venue: Venue, deployment: Deployment, spawn: Spawner, check: Checker, kind: str, tmp_path: Path
) -> None:
    # Fanned out and committed: its execute message is on the copies lane (a Redis queue in CI).
    row = one_pending_copy(venue, deployment)
    # The venue commits the order, then holds its answer: the worker is inside its POST.
    venue.sim.add_fault("delay_after", "POST /order", delay_ms=5_000)
    if kind == "dramatiq":
        worker = spawn(*POOL, command=RUNDRAMATIQ, env=pool_env(tmp_path, VENUE_READ_TIMEOUT="60"))
    else:
        worker = spawn("execute", str(row.id), env={"VENUE_READ_TIMEOUT": "60"})
    wait_for(lambda: venue.sim.orders(), timeout=90, what="the venue to commit the order")
    worker.kill_group()
    assert worker.wait() == -signal.SIGKILL

    row = fresh(row)
    (order,) = venue.sim.orders()
    assert (row.status, row.order_hash, row.submit_count) == (CopyTrade.Status.SIGNED, order["id"], 1)
    assert row.recorded_at is None

    reconcile_until_settled(deployment, venue=venue)
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED, (row.status, row.reason_code, row.reason_detail)
    assert row.submit_count == 1
    assert [o["id"] for o in venue.sim.orders()] == [row.order_hash]
    assert len(venue.proxy.order_posts()) == 1
    assert Position.objects.get(relationship=row.relationship).shares == row.size_matched > 0
    check()


def test_s02_a_worker_killed_after_signing_and_before_its_post_leads_the_reconciler_to_send_the_same_bytes_once(
    venue: Venue, deployment: Deployment, spawn: Spawner, check: Checker
) -> None:
    """Issue 17, fix 1: 123 copies of the soak were signed by a worker killed before its POST and
    expired unsent. The signed row's lease is the short submit lease (10 s with the default
    timeouts, not the claim's 30 s), so the reconciler may take it over and resend it promptly."""
    row = one_pending_copy(venue, deployment)
    worker = spawn("execute", str(row.id), "--stop-before", "post")
    order_hash = worker.expect("BEFORE_POST")
    worker.wait_stopped()
    worker.signal(signal.SIGKILL)
    worker.wait()

    row = fresh(row)
    assert (row.status, row.order_hash, row.submit_count) == (CopyTrade.Status.SIGNED, order_hash, 1)
    assert venue.sim.orders() == []
    assert venue.proxy.order_posts() == []
    signed_bytes = row.signed_order
    assert signed_bytes is not None
    assert row.signed_at is not None
    assert row.lease_until is not None
    assert row.lease_until - row.signed_at <= submit_lease() <= timedelta(seconds=10)

    reconcile_until_settled(deployment, venue=venue)
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED, (row.status, row.reason_code, row.reason_detail)
    assert row.outcome_unknown_at is not None  # found signed and never answered
    assert row.outcome_resolved_at is not None
    assert row.signed_order == signed_bytes
    assert [o["id"] for o in venue.sim.orders()] == [order_hash]
    assert [post.body for post in venue.proxy.order_posts()] == [signed_bytes["body"]]
    assert row.submit_count == 2  # the dead worker's count, then the reconciler's resend
    check()


def test_a_resend_whose_worker_died_is_looked_up_before_anything_is_sent_again(
    venue: Venue, deployment: Deployment, spawn: Spawner, check: Checker
) -> None:
    """A row refused for now is resent without a lookup (nothing was placed). But once a resend
    has left the worker, its outcome is unknown: if the worker dies before recording the answer,
    the next run must look the order up, never resend blindly."""
    row = one_pending_copy(venue, deployment)
    venue.sim.add_fault("rate_limit", "POST /order")
    (row,) = execute(deployment, row)
    assert (row.status, row.reason_code, row.submit_count) == (CopyTrade.Status.SIGNED, "retry_later:rate_limited", 1)
    resender = spawn("reconcile", str(row.id), "--stop-before", "post")
    resender.expect("BEFORE_POST")
    resender.wait_stopped()
    resender.signal(signal.SIGKILL)
    resender.wait()
    row = fresh(row)
    assert (row.submit_count, row.reason_code) == (2, "")

    reconcile_once(deployment, at=ready_at(row))
    row = fresh(row)
    assert (row.status, row.not_found_count) == (CopyTrade.Status.SIGNED, 1)  # looked up, not resent
    assert len(venue.proxy.order_posts()) == 1  # only the refused one
    reconcile_until_settled(deployment, venue=venue, start=ready_at(row))
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED
    assert len(venue.proxy.order_posts()) == 2
    check()


def test_s02_a_signed_order_whose_leader_trade_aged_out_while_its_worker_was_dead_expires_unsent(
    venue: Venue, deployment: Deployment, spawn: Spawner, check: Checker
) -> None:
    row = one_pending_copy(venue, deployment)
    worker = spawn("execute", str(row.id), "--stop-before", "post")
    worker.expect("BEFORE_POST")
    worker.wait_stopped()
    worker.signal(signal.SIGKILL)
    worker.wait()

    max_age = timedelta(seconds=GuardrailSettings.current().max_leader_trade_age_seconds)
    later = row.signal_time + max_age + timedelta(seconds=1)
    reconcile_until_settled(deployment, venue=venue, start=later)
    row = fresh(row)
    assert (row.status, row.reason_code) == (CopyTrade.Status.EXPIRED, Reason.NOT_FOUND)
    assert venue.sim.orders() == []
    assert venue.proxy.order_posts() == []
    check()


@pytest.mark.parametrize("kind", KINDS)
def test_s05_two_worker_processes_given_the_same_message_place_one_order_per_copy(
    venue: Venue, deployment: Deployment, spawn: Spawner, evidence: Evidence, check: Checker, kind: str, tmp_path: Path
) -> None:
    leader = follow(speed_account(venue, n=1)).leader
    for n in (2, 3):
        follow(speed_account(venue, n=n), leader=leader)
    ids = fanout_leader_trade(leader_trade_id=leader_buy(leader).id, deployment=deployment).pending_ids
    if kind == "dramatiq":
        # Two worker pools on the Redis queue; the same message is delivered twice, one to each.
        evidence.broker.flush_all()
        pools = [spawn(*POOL, command=RUNDRAMATIQ, env=pool_env(tmp_path)) for _ in range(2)]
        for pool in pools:
            pool.wait_output("Worker process is ready for action", timeout=90)
        message = execute_copy_trades.message(ids).copy(queue_name="shared.copies")
        evidence.broker.enqueue(message)
        evidence.broker.enqueue(message)
        settled = (CopyTrade.Status.FILLED, CopyTrade.Status.REJECTED)
        wait_for(lambda: CopyTrade.objects.filter(id__in=ids, status__in=settled).count() == 3, timeout=60)
        evidence.broker.join("shared.copies", timeout=60_000)
    else:
        message_ids = ",".join(str(i) for i in ids)
        workers = [spawn("execute", message_ids, "--wait-for-go") for _ in range(2)]
        for worker in workers:
            worker.expect("READY")
        for worker in workers:
            worker.go()
        sent = sorted(int(worker.expect("DONE")) for worker in workers)
        assert sum(sent) == 3
    rows = list(CopyTrade.objects.filter(id__in=ids))
    assert all(row.status == CopyTrade.Status.FILLED for row in rows), [(r.status, r.reason_code) for r in rows]
    assert all(row.attempts == 1 for row in rows)
    assert sorted(str(o["id"]) for o in venue.sim.orders()) == sorted(str(row.order_hash) for row in rows)
    assert len(venue.proxy.order_posts()) == 3
    check()


def test_s18_a_worker_paused_past_its_lease_loses_the_row_the_next_sends_the_same_bytes_and_its_late_record_is_void(
    venue: Venue, deployment: Deployment, spawn: Spawner, check: Checker
) -> None:
    row = one_pending_copy(venue, deployment)
    paused = spawn("execute", str(row.id), "--stop-before", "post", "--lease-seconds", "1")
    order_hash = paused.expect("BEFORE_POST")
    paused.wait_stopped()
    row = fresh(row)
    held_version = row.lease_version
    assert row.lease_until is not None
    lease_until = row.lease_until
    wait_for(lambda: timezone.now() > lease_until, what="the paused worker's lease to run out")

    # Another worker (the reconciler) takes the row over: not found twice, then the same bytes.
    copytrades_reconcile(ids=[row.id])
    copytrades_reconcile(ids=[row.id])
    row = fresh(row)
    assert row.status == CopyTrade.Status.FILLED, (row.status, row.reason_code, row.reason_detail)
    assert row.lease_version > held_version
    assert row.submit_count == 2

    # The paused worker wakes up: it POSTs its (identical) bytes, the venue refuses the duplicate,
    # and its record of that answer hits 0 rows because its lease version is stale.
    paused.signal(signal.SIGCONT)
    assert paused.expect("DONE") == "1"
    assert paused.wait() == 0
    row = fresh(row)
    assert row.status == CopyTrade.Status.FILLED
    assert row.reason_code == ""
    assert row.signed_order is not None
    assert [post.body for post in venue.proxy.order_posts()] == [row.signed_order["body"]] * 2
    assert [o["id"] for o in venue.sim.orders()] == [order_hash]

    reconcile_until_settled(deployment, venue=venue)
    assert fresh(row).status == CopyTrade.Status.CONFIRMED
    check()


def test_s19_a_database_outage_after_a_successful_post_leaves_the_row_signed_and_the_reconciler_records_it(
    venue: Venue, deployment: Deployment, spawn: Spawner, check: Checker
) -> None:
    row = one_pending_copy(venue, deployment)
    venue.sim.add_fault("delay_after", "POST /order", delay_ms=3_000)
    worker = spawn("execute", str(row.id), "--sqlite-busy-ms", "100", env={"VENUE_READ_TIMEOUT": "60"})
    backend = worker.expect("BACKEND") if connection.vendor == "postgresql" else ""
    wait_for(lambda: venue.sim.orders(), what="the venue to commit the order")
    # The database goes away while the worker waits for the venue's answer.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [int(backend)])
        code = worker.wait()
    else:
        outage = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        outage.execute("BEGIN EXCLUSIVE")
        try:
            code = worker.wait()
        finally:
            outage.execute("ROLLBACK")
            outage.close()
    assert code != 0
    assert "OperationalError" in worker.stderr()

    row = fresh(row)
    (order,) = venue.sim.orders()
    assert (row.status, row.order_hash, row.submit_count) == (CopyTrade.Status.SIGNED, order["id"], 1)
    reconcile_until_settled(deployment, venue=venue)
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED
    assert row.submit_count == 1
    assert len(venue.proxy.order_posts()) == 1
    check()
