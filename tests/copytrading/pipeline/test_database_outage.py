"""Messages that meet a database outage are retried with backoff, not dropped."""

from __future__ import annotations

import time
from collections.abc import Iterator

import dramatiq
import psycopg
import pytest
from django.db import connection
from psycopg import sql

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade
from copytrading.tasks import execute_copy_trades
from execution.simulator import VenueSimulator
from polyhunter.broker import send_to_queue
from tests.copytrading.pipeline.conftest import follow, leader_buy
from tests.factories import make_account, shared_deployment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a PostgreSQL outage"),
]


class Outage:
    """Makes the test database refuse new sessions and cuts off every other one, as while
    PostgreSQL restarts; this test's own session is kept (it set the scene and checks the end)."""

    def __init__(self) -> None:
        settings = connection.settings_dict
        self.name = settings["NAME"]
        self.admin = psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            user=settings["USER"],
            dbname="postgres",
            autocommit=True,
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (self.own_pid,) = cursor.fetchone()

    def begin(self) -> None:
        self.admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(self.name)))
        self.admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
            [self.name, self.own_pid],
        )

    def end(self) -> None:
        self.admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(sql.Identifier(self.name)))


@pytest.fixture
def outage() -> Iterator[Outage]:
    controller = Outage()
    try:
        yield controller
    finally:
        controller.end()
        controller.admin.close()


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_an_execute_message_that_meets_a_database_outage_runs_once_the_database_is_back(
    sim: VenueSimulator, broker: dramatiq.Broker, worker: dramatiq.Worker, outage: Outage
) -> None:
    """Issue 17, fix 5 (~500 execute messages dropped in a 5 s PostgreSQL outage of the soak): the
    actor failed at once and was never retried, so copies waited for the sweeper. Transient
    database errors are retried with backoff; nothing the retry can do is unsafe (a row is only
    claimed while PENDING, so a retry never signs or sends twice)."""
    deployment = shared_deployment()
    relationship = follow(make_account())
    (row_id,) = fanout_leader_trade(
        leader_trade_id=leader_buy(relationship.leader).id, deployment=deployment
    ).pending_ids
    outage.begin()

    send_to_queue(execute_copy_trades, "shared.copies", [row_id])
    time.sleep(1.5)  # the worker meets the outage (and fails, before the fix)
    outage.end()

    assert _wait(lambda: CopyTrade.objects.get(id=row_id).status == CopyTrade.Status.CONFIRMED, timeout=30), (
        CopyTrade.objects.get(id=row_id).status
    )
