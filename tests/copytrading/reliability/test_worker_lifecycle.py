"""Scenarios about the life of worker processes (docs/reliability.md): a graceful deploy (S12), a
copy that kills every worker that takes it (S13), and a worker killed on a quiet queue (S14) —
real ``rundramatiq`` pools and worker processes, on a Redis of the scenario's own where the broker
matters."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.sweep import sweep_deployment
from copytrading.reasons import Reason
from copytrading.tasks import execute_copy_trades
from tests.copytrading.reliability.conftest import Checker, Spawner
from tests.copytrading.reliability.harness import (
    RUNDRAMATIQ,
    Evidence,
    Venue,
    fresh,
    pending_copy,
    pool_args,
    pool_env,
    wait_for,
)
from tests.copytrading.reliability.own import Ticker, broker_on, queue_length, redis_server, send, unacked

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def test_s12_a_graceful_stop_finishes_the_orders_in_flight_and_hands_back_the_prefetched_messages(
    venue: Venue, deployment: Deployment, spawn: Spawner, evidence: Evidence, check: Checker, tmp_path: Path
) -> None:
    rows = [pending_copy(venue, deployment, n=n) for n in range(6)]
    # Every POST is answered after 2 s: two orders are in flight (two threads), two more messages
    # wait in the worker's memory (prefetch 4), two are still in Redis when the deploy starts.
    venue.sim.add_fault("delay_after", "POST /order", count=None, delay_ms=2_000)
    with redis_server() as redis:
        broker = broker_on(redis)
        evidence.extra_brokers.append(broker)
        for row in rows:
            send(broker, execute_copy_trades, "shared.copies", [row.id])
        env = pool_env(tmp_path, REDIS_URL=redis.url(), VENUE_READ_TIMEOUT="30", dramatiq_queue_prefetch="4")
        old = spawn(*pool_args("shared.copies", threads=2), command=RUNDRAMATIQ, env=env)
        wait_for(
            lambda: (
                CopyTrade.objects.filter(status=CopyTrade.Status.SIGNED).count() == 2
                and unacked(redis, "shared.copies") == 4
            ),
            timeout=90,
            what="two orders in flight and two more messages prefetched",
        )
        in_flight = {row.id for row in CopyTrade.objects.filter(status=CopyTrade.Status.SIGNED)}

        old.signal(signal.SIGTERM)  # the deploy: the process manager asks the old pool to stop
        assert old.wait(timeout=120) == 0

        # What was in flight finished and was recorded; what was only prefetched is back in Redis.
        after = {row.id: fresh(row) for row in rows}
        assert {i for i, row in after.items() if row.status == CopyTrade.Status.FILLED} == in_flight
        waiting = [row for i, row in after.items() if i not in in_flight]
        assert [(row.status, row.attempts) for row in waiting] == [(CopyTrade.Status.PENDING, 0)] * 4
        assert (queue_length(redis, "shared.copies"), unacked(redis, "shared.copies")) == (4, 0)

        venue.sim.clear_faults()
        spawn(*pool_args("shared.copies"), command=RUNDRAMATIQ, env=pool_env(tmp_path, REDIS_URL=redis.url()))
        wait_for(
            lambda: CopyTrade.objects.filter(status=CopyTrade.Status.FILLED).count() == 6,
            timeout=90,
            what="the new pool to place the four handed-back copies",
        )
        assert all(fresh(row).attempts == 1 for row in rows)
        assert len(venue.sim.orders()) == len(venue.proxy.order_posts()) == 6
        check()


def test_s13_a_copy_that_kills_every_worker_that_takes_it_is_claimed_five_times_then_expired_unsent(
    venue: Venue, deployment: Deployment, spawn: Spawner, check: Checker
) -> None:
    poison = pending_copy(venue, deployment, n=1)
    healthy = pending_copy(venue, deployment, n=2)
    # Each delivery (a redelivery ignores max_retries) claims the row, and the worker dies: the
    # OOM kill, at the same point every time, before anything is signed.
    for attempt in range(1, 6):
        worker = spawn("execute", str(poison.id), "--stop-before", "sign", "--lease-seconds", "1")
        worker.expect("BEFORE_SIGN")
        worker.wait_stopped()
        worker.kill_group()
        worker.wait()
        row = fresh(poison)
        assert (row.status, row.attempts, row.order_hash) == (CopyTrade.Status.CLAIMED, attempt, None)
        assert row.lease_until is not None
        wait_for(_after(row.lease_until.timestamp()), what="the dead worker's lease to run out")

    # A sixth delivery, with a healthy copy in the same message: the healthy one is placed, the
    # poison is not claimed again, and the sweeper ends it with its reason.
    assert copytrades_execute(ids=[poison.id, healthy.id], deployment=deployment) == 1
    assert fresh(healthy).status == CopyTrade.Status.FILLED
    assert (fresh(poison).status, fresh(poison).attempts) == (CopyTrade.Status.CLAIMED, 5)
    assert sweep_deployment(deployment=deployment).poisoned == 1
    row = fresh(poison)
    assert (row.status, row.reason_code, row.submit_count) == (CopyTrade.Status.EXPIRED, Reason.EXPIRED_PENDING, 0)
    assert "abandoned after 5 attempts" in row.reason_detail
    assert len(venue.proxy.order_posts()) == 1
    check()


def _after(moment: float) -> Callable[[], bool]:
    return lambda: time.time() > moment


def test_s14_a_worker_killed_on_a_quiet_queue_strands_its_message_and_the_sweeper_places_the_copy_anyway(
    venue: Venue,
    deployment: Deployment,
    spawn: Spawner,
    evidence: Evidence,
    check: Checker,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    row = pending_copy(venue, deployment)
    # The worker takes the message, claims the row and waits for the book: then it dies.
    venue.sim.add_fault("delay", "GET /book", count=None, delay_ms=60_000)
    with redis_server() as redis:
        broker = broker_on(redis)
        evidence.extra_brokers.append(broker)
        send(broker, execute_copy_trades, "shared.copies", [row.id])
        short_lease = {"DJANGO_SETTINGS_MODULE": "tests.copytrading.reliability.short_lease_settings"}
        env = pool_env(tmp_path, REDIS_URL=redis.url(), VENUE_READ_TIMEOUT="120", **short_lease)
        dead = spawn(*pool_args("shared.copies"), command=RUNDRAMATIQ, env=env)
        wait_for(lambda: fresh(row).status == CopyTrade.Status.CLAIMED, timeout=90, what="the worker to claim the row")
        dead.kill_group()
        dead.wait()
        killed_at = time.monotonic()
        assert (queue_length(redis, "shared.copies"), unacked(redis, "shared.copies")) == (0, 1)

        venue.sim.clear_faults()
        spawn(*pool_args("shared.copies", "shared.reconcile", "shared.settle"), command=RUNDRAMATIQ, env=env)
        with Ticker(broker):
            wait_for(lambda: fresh(row).status == CopyTrade.Status.FILLED, timeout=120, what="the sweeper's resend")
        recovered_after = time.monotonic() - killed_at
        # The broker has not given the message back (that needs its 60 s heartbeat timeout, then
        # a maintenance pass on this queue, 0.1 % of its commands): the database did.
        assert unacked(redis, "shared.copies") >= 1
        record_property("sweeper_recovery_seconds", round(recovered_after, 1))
        record_property("broker_redelivery", "not within the test: heartbeat timeout 60 s + probabilistic maintenance")
        row = fresh(row)
        assert (row.attempts, row.submit_count) == (2, 1)
        assert len(venue.sim.orders()) == len(venue.proxy.order_posts()) == 1
        check()
