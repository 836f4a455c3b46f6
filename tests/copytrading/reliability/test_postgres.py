"""S17 (docs/reliability.md): PostgreSQL restarted while a worker is inside the transaction that
signs an order — on a PostgreSQL of the scenario's own, migrated like production's."""

from __future__ import annotations

import signal
import time

import pytest
from django.db import connection

from copytrading.models import CopyTrade
from copytrading.pipeline.execute import copytrades_execute
from tests.copytrading.reliability.conftest import Checker, Spawner
from tests.copytrading.reliability.harness import Venue, fresh, pending_copy, wait_for
from tests.copytrading.reliability.own import database_at, migrated_database, postgres_server
from tests.factories import shared_deployment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def test_s17_a_postgres_restart_mid_sign_rolls_the_signature_back_and_the_next_worker_signs_once(
    venue: Venue, spawn: Spawner, check: Checker
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs the suite on PostgreSQL (DATABASE_URL=postgres://…)")
    with postgres_server() as postgres, database_at(migrated_database(postgres, "s17")):
        deployment = shared_deployment()
        row = pending_copy(venue, deployment)
        # The worker has claimed the row and holds the account locks of the sign transaction.
        worker = spawn("execute", str(row.id), "--stop-before", "sign", "--lease-seconds", "1")
        worker.expect("BEFORE_SIGN")
        worker.wait_stopped()

        postgres.restart()  # immediate shutdown: every backend killed mid-transaction, then WAL replay
        connection.close()  # this process's session went with it
        worker.signal(signal.SIGCONT)
        assert worker.wait() != 0
        assert "OperationalError" in worker.stderr()

        # Rolled back: no signature, no hash, nothing sent; only the claim (committed before) remains.
        row = fresh(row)
        assert (row.status, row.order_hash, row.signed_order, row.submit_count, row.attempts) == (
            CopyTrade.Status.CLAIMED,
            None,
            None,
            0,
            1,
        )
        assert venue.proxy.order_posts() == []

        assert row.lease_until is not None
        lease_until = row.lease_until.timestamp()
        wait_for(lambda: time.time() > lease_until, what="the dead transaction's lease to run out")
        assert copytrades_execute(ids=[row.id], deployment=deployment) == 1
        row = fresh(row)
        assert (row.status, row.attempts, row.submit_count) == (CopyTrade.Status.FILLED, 2, 1)
        assert len(venue.sim.orders()) == len(venue.proxy.order_posts()) == 1
        check()
