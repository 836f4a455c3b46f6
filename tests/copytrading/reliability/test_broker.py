"""Scenarios about message delivery and the kill switch, through the configured broker and real
Dramatiq workers (Redis when REDIS_URL is set, the in-process broker otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
import pytest
from django.db import transaction
from django.test import override_settings
from dramatiq.middleware.time_limit import TimeLimit, _CtypesTimeoutManager

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Deployment
from copytrading.tasks import execute_copy_trades
from execution.venue.gateway import default_gateway
from polyhunter.broker import send_to_queue, stop_worker
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import (
    Evidence,
    Venue,
    follow,
    fresh,
    leader_buy,
    pending_copy,
    reconcile_until_settled,
    speed_account,
)
from tests.factories import make_leader

pytestmark = pytest.mark.django_db(transaction=True)
COPIES = "shared.copies"


@contextmanager
def workers(broker: dramatiq.Broker, *, count: int = 1, threads: int = 1) -> Iterator[list[dramatiq.Worker]]:
    """``count`` independent Dramatiq workers (each its own consumer) on the copies lane."""
    running = [
        dramatiq.Worker(broker, queues={COPIES}, worker_threads=threads, worker_timeout=50) for _ in range(count)
    ]
    for worker in running:
        worker.start()
    try:
        yield running
    finally:
        for worker in running:
            stop_worker(worker)


def drain(broker: dramatiq.Broker) -> None:
    """Wait until every message on the copies lane was processed (failures included)."""
    if hasattr(broker, "dead_letters_by_queue"):
        broker.join(COPIES, timeout=60_000, fail_fast=False)  # type: ignore[call-arg]
    else:
        broker.join(COPIES, timeout=60_000)


def execute_message(ids: list[int], **options: Any) -> dramatiq.Message[Any]:
    return execute_copy_trades.message_with_options(args=(ids,), **options).copy(queue_name=COPIES)


def test_s05_two_dramatiq_workers_given_the_same_message_twice_place_one_order_per_copy(
    venue: Venue, deployment: Deployment, evidence: Evidence, check: Checker
) -> None:
    leader = make_leader()
    for n in (1, 2, 3):
        follow(speed_account(venue, n=n), leader=leader)
    ids = fanout_leader_trade(leader_trade_id=leader_buy(leader).id, deployment=deployment).pending_ids
    evidence.broker.flush_all()
    message = execute_message(ids)
    evidence.broker.enqueue(message)
    evidence.broker.enqueue(message)  # delivered twice (a redelivery, or a sweeper resend)
    with workers(evidence.broker, count=2):
        drain(evidence.broker)
    rows = list(CopyTrade.objects.filter(id__in=ids))
    assert [row.status for row in rows] == [CopyTrade.Status.FILLED] * 3
    assert [row.attempts for row in rows] == [1, 1, 1]
    assert len(venue.sim.orders()) == len(venue.proxy.order_posts()) == 3
    check()


def start_time_limits(broker: dramatiq.Broker) -> None:
    """An in-process worker never boots a process, so start TimeLimit's watchdog here (it polls
    every 50 ms instead of every second, so the limit lands where the test means it to)."""
    (limit,) = [m for m in broker.middleware if isinstance(m, TimeLimit)]
    assert isinstance(limit.manager, _CtypesTimeoutManager)
    limit.manager.interval = 0.05
    if not limit.manager.is_alive():
        limit.manager.start()


def test_s11_a_time_limit_firing_between_the_post_and_the_record_leaves_it_to_the_reconciler_no_new_signature(
    venue: Venue, deployment: Deployment, evidence: Evidence, check: Checker
) -> None:
    row = pending_copy(venue, deployment)
    evidence.broker.flush_all()
    start_time_limits(evidence.broker)
    # The venue commits the order and answers after 4 s; the actor may run 2 s, and reaches its
    # POST well before that (the market, book and version are already in the gateway's caches).
    venue.sim.add_fault("delay_after", "POST /order", delay_ms=4_000)
    message = execute_message([row.id], time_limit=2_000)
    with override_settings(VENUE_READ_TIMEOUT=30), workers(evidence.broker):
        default_gateway.cache_clear()
        gateway = default_gateway()
        gateway.check_version()
        gateway.market_info(row.token_id)
        gateway.book(row.token_id)
        evidence.broker.enqueue(message)
        drain(evidence.broker)
        row = fresh(row)
        (order,) = venue.sim.orders()
        assert (row.status, row.order_hash, row.submit_count) == (CopyTrade.Status.SIGNED, order["id"], 1)
        assert row.recorded_at is None
        assert "Time limit exceeded" in evidence.log_text()
        # A retry of the message (what Retries would send) finds the row signed: it does nothing.
        evidence.broker.enqueue(message)
        drain(evidence.broker)
    default_gateway.cache_clear()
    assert len(venue.proxy.order_posts()) == 1
    assert fresh(row).attempts == 1

    reconcile_until_settled(deployment, venue=venue)
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED
    assert row.order_hash == order["id"]
    assert len(venue.proxy.order_posts()) == row.submit_count == 1
    check()


class Rollback(Exception):
    pass


def execute_messages(evidence: Evidence) -> int:
    """Execute messages enqueued so far in this test."""
    return sum(1 for body in evidence.recorder.enqueued if '"actor_name":"execute_copy_trades"' in body)


def test_s20_a_message_sent_before_a_rolled_back_commit_finds_no_row_and_the_pipeline_only_sends_on_commit(
    venue: Venue, deployment: Deployment, evidence: Evidence, check: Checker
) -> None:
    account = speed_account(venue, n=1)
    relationship = follow(account)
    evidence.broker.flush_all()
    seen_inside: list[int] = []
    try:
        with transaction.atomic():
            trade = leader_buy(relationship.leader)
            (row_id,) = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment).pending_ids
            # Fan-out committed nothing yet, so it sent nothing: its messages wait for the commit.
            seen_inside.append(execute_messages(evidence))
            # A (bad) direct send inside the transaction, which then rolls back.
            send_to_queue(execute_copy_trades, COPIES, [row_id])
            raise Rollback
    except Rollback:
        pass
    assert seen_inside == [0]
    assert execute_messages(evidence) == 1
    assert not CopyTrade.objects.filter(id=row_id).exists()
    with workers(evidence.broker):
        drain(evidence.broker)
    assert not CopyTrade.objects.exists()
    assert venue.proxy.order_posts() == []

    # The same fan-out, committed this time: its message leaves on commit, and is executed.
    with transaction.atomic():
        trade = leader_buy(relationship.leader)
        (row_id,) = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment).pending_ids
        assert execute_messages(evidence) == 1
    assert execute_messages(evidence) == 2
    with workers(evidence.broker):
        drain(evidence.broker)
    assert CopyTrade.objects.get(id=row_id).status == CopyTrade.Status.FILLED
    check()
