"""The detect process and the scheduler entry points: ticks, leases, heartbeats, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from copytrading.detection.data_api import leader_poll, leaders_due
from copytrading.detection.runner import RUNNER_DETECTOR, DetectorRunner
from copytrading.detection.service import detection_tick
from copytrading.models import ChainCursor, DetectorState, LeaderTrade, WatchedWallet
from tests.copytrading.detection.evm import Evm, V2Fill
from tests.factories import TOKEN_YES, make_leader

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_one_tick_scans_the_chain_and_shows_its_heartbeat_and_cursor_to_staff(evm: Evm) -> None:
    a = make_leader().address
    runner = DetectorRunner(w3=evm.w3, client=None, every_seconds=0.1)
    with override_settings(POLYGON_EXCHANGE_ADDRESSES=evm.exchanges, DETECT_CONFIRMATIONS=0):
        runner.handle_one_tick()  # places the cursor at the head: history is not a detection
        tx = evm.match_v2(V2Fill(a, "BUY", int(TOKEN_YES), Decimal(4), Decimal(2)))
        report = runner.handle_one_tick()
    assert report.new_trades == 1
    assert LeaderTrade.objects.get().tx_hash == tx
    state = DetectorState.objects.get(name=RUNNER_DETECTOR)
    assert state.runs == 2
    assert f"next block {evm.block_number() + 1}" in state.last_cursor
    assert DetectorState.objects.get(name="chain:polygon").last_seen_at is not None


@pytest.mark.django_db
def test_the_tick_enqueues_one_poll_per_due_leader_and_one_chain_scan() -> None:
    due, recent, leased = make_leader(), make_leader(), make_leader()
    now = timezone.now()
    WatchedWallet.objects.filter(id=recent.id).update(data_api_polled_at=now)
    WatchedWallet.objects.filter(id=leased.id).update(poll_lease_until=now + timedelta(seconds=20))
    polls: list[int] = []
    scans: list[str] = []
    with override_settings(POLYGON_RPC_URL="http://127.0.0.1:8545"):
        detection_tick(send_poll=polls.append, send_scan=scans.append)
    assert polls == [due.id]
    assert scans == ["polygon"]
    assert leaders_due(now=now + timedelta(seconds=10)) == [due.id, recent.id]


@pytest.mark.django_db
def test_a_poll_is_a_no_op_while_another_worker_holds_the_leaders_lease() -> None:
    leader = make_leader()
    WatchedWallet.objects.filter(id=leader.id).update(poll_lease_until=timezone.now() + timedelta(seconds=20))
    assert not leader_poll(wallet_id=leader.id).leased


def manage_env(**extra: str) -> dict[str, str]:
    """Environment for a manage.py subprocess on this test's own database."""
    db = connection.settings_dict
    url = (
        f"sqlite:///{db['NAME']}"
        if connection.vendor == "sqlite"
        else f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return {**base, "DATABASE_URL": url, "POLYGON_RPC_URL": "", **extra}


@pytest.mark.django_db(transaction=True)
def test_run_detectors_keeps_a_heartbeat_and_stops_cleanly_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_detectors"],
        cwd=ROOT,
        env=manage_env(DETECT_POLL_SECONDS="0.2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = DetectorState.objects.filter(name=RUNNER_DETECTOR).first()
            if state and state.runs >= 2:
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        else:
            pytest.fail("no heartbeat from run_detectors")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "detectors stopped after" in stdout


def test_the_scheduler_runs_the_detection_tick_and_the_actors_take_ids_without_retries() -> None:
    from dramatiq_crontab import scheduler

    import copytrading.tasks  # noqa: F401  (what the worker and the scheduler import)
    from copytrading.detection.actors import detect_tick, poll_leader, scan_chain

    assert "detect_tick" in {job.name for job in scheduler.get_jobs()}
    for actor in (detect_tick, poll_leader, scan_chain):
        assert actor.options["max_retries"] == 0
        assert actor.options["max_age"] > 0
        assert actor.queue_name == "detection"


@pytest.mark.django_db(transaction=True)
def test_the_scan_actor_reads_the_chain_over_http_json_rpc_through_a_real_worker(
    evm: Evm, broker: Any, worker: Any
) -> None:
    from copytrading.detection.actors import scan_chain

    a = make_leader().address
    ChainCursor.objects.create(chain="polygon", next_block=evm.block_number() + 1)
    txs = [evm.match_v2(V2Fill(a, side, int(TOKEN_YES), Decimal(2), Decimal(1))) for side in ("BUY", "SELL")]
    with override_settings(
        POLYGON_RPC_URL=evm.rpc_url, POLYGON_EXCHANGE_ADDRESSES=evm.exchanges, DETECT_CONFIRMATIONS=0
    ):
        scan_chain.send("polygon")
        broker.join(scan_chain.queue_name, timeout=30_000)
        worker.join()
    assert sorted(LeaderTrade.objects.values_list("tx_hash", flat=True)) == sorted(txs)
    assert ChainCursor.objects.get().next_block == evm.block_number() + 1
