"""Scenarios about messages lost or doubled around a commit (docs/reliability.md, S21, S22), through
the configured broker (Redis in CI, in-process otherwise) and a real Dramatiq worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import dramatiq
import pytest
from django.utils import timezone

from copytrading.fanout import RESEND_AFTER
from copytrading.models import CopyTrade, Deployment, LeaderTrade
from copytrading.pipeline.sweep import FANOUT_GRACE, sweep_deployment
from copytrading.tasks import execute_copy_trades, fan_out
from polyhunter.broker import stop_worker
from tests.copytrading.reliability.conftest import Checker, Spawner
from tests.copytrading.reliability.harness import Evidence, Venue, follow, leader_buy, pending_copy, speed_account

pytestmark = pytest.mark.django_db(transaction=True)
QUEUES = ("shared.fanout", "shared.copies")


@contextmanager
def worker(broker: dramatiq.Broker) -> Iterator[None]:
    """A Dramatiq worker on the fan-out and copies lanes until every message there is done."""
    running = dramatiq.Worker(broker, queues=set(QUEUES), worker_threads=2, worker_timeout=50)
    running.start()
    try:
        yield
        for queue in QUEUES:
            broker.join(queue, timeout=60_000)
    finally:
        stop_worker(running)


def sent(evidence: Evidence, actor: str) -> int:
    return sum(1 for body in evidence.recorder.enqueued if f'"actor_name":"{actor}"' in body)


@pytest.mark.processes
@pytest.mark.parametrize("step", ["record", "fanout"])
def test_s21_a_process_killed_between_a_commit_and_its_enqueue_loses_no_copy_the_sweeper_sends_it(
    venue: Venue, deployment: Deployment, spawn: Spawner, evidence: Evidence, check: Checker, step: str
) -> None:
    relationship = follow(speed_account(venue, n=1))
    evidence.broker.flush_all()
    if step == "record":
        # The detector's process: the leader trade is committed, its fan-out message not yet sent.
        process = spawn("record", str(relationship.leader_id), "--stop-before", "enqueue")
        assert process.expect("BEFORE_ENQUEUE") == "shared.fanout"
    else:
        # The fan-out's process: the copy rows are committed, their execute messages not yet sent.
        trade = leader_buy(relationship.leader)
        process = spawn("fanout", str(trade.id), "--stop-before", "enqueue")
        assert process.expect("BEFORE_ENQUEUE") == "shared.copies"
    process.wait_stopped()
    process.kill_group()
    process.wait()

    trade = LeaderTrade.objects.get(leader=relationship.leader)
    rows = list(CopyTrade.objects.filter(leader_trade=trade))
    if step == "record":
        assert (trade.status, rows) == (LeaderTrade.Status.NEW, [])
    else:
        assert (trade.status, [row.status for row in rows]) == (LeaderTrade.Status.FANNED_OUT, ["pending"])
    # On-commit alone would lose it: no message exists, so no worker will ever see this trade.
    assert sent(evidence, "fan_out") + sent(evidence, "execute_copy_trades") == 0
    with worker(evidence.broker):
        pass
    assert not CopyTrade.objects.exclude(status=CopyTrade.Status.PENDING).exists()

    # The sweeper's next pass after its grace period sends what the dead process did not.
    later = timezone.now() + max(FANOUT_GRACE, RESEND_AFTER) + timedelta(seconds=1)
    with worker(evidence.broker):
        result = sweep_deployment(deployment=deployment, now=later)
    assert (result.fanouts, result.resent) == ((1, 0) if step == "record" else (0, 1))
    (row,) = CopyTrade.objects.filter(leader_trade=trade)
    assert (row.status, row.submit_count) == (CopyTrade.Status.FILLED, 1)
    assert len(venue.sim.orders()) == len(venue.proxy.order_posts()) == 1
    check()


def test_s22_a_delayed_message_delivered_twice_places_one_order_and_dispatches_once(
    venue: Venue, deployment: Deployment, evidence: Evidence, check: Checker
) -> None:
    broker = evidence.broker
    broker.flush_all()
    # An execute message, delivered twice under one message id: once through the delay queue,
    # once directly (dramatiq #431: the delayed copy is enqueued before the delay queue's ack).
    row = pending_copy(venue, deployment, n=1)
    execute = execute_copy_trades.message([row.id]).copy(queue_name="shared.copies")
    # A fan-out message, the same way: a retry with backoff is a delayed message too.
    leader = follow(speed_account(venue, n=2)).leader
    follow(speed_account(venue, n=3), leader=leader)
    trade = leader_buy(leader)
    fanout = fan_out.message(trade.id, "shared").copy(queue_name="shared.fanout")
    for message in (execute, fanout):
        broker.enqueue(message, delay=300)
        broker.enqueue(message)
    with worker(broker):
        pass
    rows = list(CopyTrade.objects.order_by("id"))
    assert [(r.status, r.attempts, r.submit_count) for r in rows] == [(CopyTrade.Status.FILLED, 1, 1)] * 3
    # The second fan-out found its rows and sent nothing: each of its rows was dispatched once.
    fanned = sorted(r.id for r in rows if r.leader_trade_id == trade.id)
    dispatched = [
        row_id
        for body in evidence.recorder.enqueued
        if '"actor_name":"execute_copy_trades"' in body
        for row_id in json.loads(body)["args"][0]
        if row_id in fanned
    ]
    assert sorted(dispatched) == fanned
    assert len(venue.sim.orders()) == len(venue.proxy.order_posts()) == 3
    check()
