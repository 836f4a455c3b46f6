"""Fan-out and execute at the same time on PostgreSQL: no lock-order deadlock between them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from django.db import connection

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade
from copytrading.pipeline.execute import copytrades_execute
from execution.simulator import VenueSimulator
from tests.copytrading.pipeline.conftest import follow, leader_buy
from tests.factories import make_account, make_leader, shared_deployment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row lock modes are PostgreSQL's"),
]


class Runner(threading.Thread):
    """Runs one pipeline step on its own database connection and keeps what it raised."""

    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            connection.close()


def _waiting_backends(observer: psycopg.Connection[tuple[object, ...]]) -> int:
    row = observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def _until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_fan_out_and_execute_on_the_same_accounts_at_once_never_deadlock(sim: VenueSimulator) -> None:
    """Issue 17, fix 3 (8 deadlocks in 8 minutes of the soak): fan-out's COMMIT checks its deferred
    foreign keys, taking FOR KEY SHARE on each copy's account in follow order, while execute
    locked the batch's accounts FOR UPDATE in id order. Here fan-out's follows reach the accounts
    in the opposite order (a2, then a1) while execute holds a1 and waits for a2; a third session
    holding FOR KEY SHARE on a2 makes the interleaving certain. Before the fix PostgreSQL found a
    deadlock and aborted one of them; execute now locks accounts FOR NO KEY UPDATE, which a key
    share does not conflict with."""
    deployment = shared_deployment()
    a1, a2 = make_account(), make_account()
    assert a1.id < a2.id
    executed = make_leader()
    for account in (a1, a2):
        follow(account, leader=executed)
    rows = fanout_leader_trade(leader_trade_id=leader_buy(executed).id, deployment=deployment).pending_ids
    fanned = make_leader()
    follow(a2, leader=fanned)  # the lower follow id: fan-out inserts (and checks) a2's row first
    follow(a1, leader=fanned)
    trade = leader_buy(fanned)

    settings = connection.settings_dict
    params = {"host": settings["HOST"], "port": settings["PORT"] or 5432, "user": settings["USER"]}
    with (
        psycopg.connect(**params, dbname=settings["NAME"]) as holder,
        psycopg.connect(**params, dbname=settings["NAME"], autocommit=True) as observer,
    ):
        holder.execute("SELECT id FROM accounts_tradingaccount WHERE id = %s FOR KEY SHARE", [a2.id])
        execute = Runner(lambda: copytrades_execute(ids=rows, deployment=deployment))
        execute.start()
        _until(lambda: not execute.is_alive() or _waiting_backends(observer) >= 1, "execute to lock a1")
        fan_out = Runner(lambda: fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment))
        fan_out.start()
        _until(lambda: not fan_out.is_alive() or _waiting_backends(observer) >= 2, "fan-out to reach a1")
        holder.commit()
        execute.join(timeout=60)
        fan_out.join(timeout=60)

    assert not execute.is_alive()
    assert not fan_out.is_alive()
    assert execute.error is None, f"execute failed: {execute.error!r}"
    assert fan_out.error is None, f"fan-out failed: {fan_out.error!r}"
    assert set(CopyTrade.objects.filter(id__in=rows).values_list("status", flat=True)) == {CopyTrade.Status.CONFIRMED}
    assert CopyTrade.objects.filter(leader_trade=trade).count() == 2
