"""The soak's own parts (``make soak`` itself is not run in CI): its chaos schedule, the Procfile it
runs, the flight recorder's reading of a copy's history, and the secret scan over large logs."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from django.db import connection

from copytrading.models import CopyTrade
from soak import chaos, dbtrace, evidence
from soak.processes import procfile
from tests.copytrading.reliability.invariants import SecretScanner
from tests.factories import make_copy_trade


@pytest.mark.parametrize("seconds", [120, 1200])
def test_the_chaos_schedule_kills_every_5_to_20_s_restarts_redis_twice_and_postgres_once_and_covers_every_fault(
    seconds: int,
) -> None:
    events = chaos.schedule(seconds=seconds, rng=random.Random(seconds), read_timeout_s=3, min_kills=10)
    kills = [e.at for e in events if e.what == "kill"]
    assert len(kills) >= 10
    assert all(5 <= b - a <= 20 for a, b in zip([chaos.WARM_UP, *kills], kills, strict=False))
    assert [(e.at / seconds, e.wipe) for e in events if e.what == "redis"] == [(0.30, False), (0.75, True)]
    assert [e.at / seconds for e in events if e.what == "postgres"] == [0.50]
    windows = [e for e in events if e.what in ("fault_on", "fault_off")]
    # One window at a time: each fault goes on, then off, before the next goes on.
    assert [e.what for e in windows] == ["fault_on", "fault_off"] * (len(windows) // 2)
    assert all(on.fault == off.fault for on, off in zip(windows[::2], windows[1::2], strict=True))
    assert {e.fault.name for e in windows if e.fault} == {f.name for f in chaos.fault_kinds(3)}
    assert all(e.at < seconds for e in events)


def test_the_soak_runs_the_procfiles_worker_exits_and_scheduler_lines() -> None:
    lines = procfile()
    for name in ("worker", "exits", "scheduler"):
        assert lines[name][:2] == [sys.executable, "manage.py"], lines[name]
    assert "rundramatiq" in lines["worker"]


@pytest.fixture
def recorder(transactional_db: None) -> object:
    if connection.vendor != "postgresql":
        pytest.skip("the flight recorder is a PostgreSQL trigger")
    dbtrace.install()
    yield None
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS soak_trace ON copytrading_copytrade; DROP TABLE soak_transition")


def test_the_flight_recorder_times_an_unknown_outcome_and_sees_a_changed_order_hash(recorder: object) -> None:
    answered, recovered, rehashed = (make_copy_trade() for _ in range(3))
    for row in (answered, recovered, rehashed):
        CopyTrade.objects.filter(id=row.id).update(status="signed", order_hash=f"0x{row.id:064x}", lease_version=1)
    # Answered by the lease that sent it: not a recovery.
    CopyTrade.objects.filter(id=answered.id).update(status="filled")
    # Unknown, then found by the reconciler (a later lease).
    CopyTrade.objects.filter(id=recovered.id).update(status="unknown")
    CopyTrade.objects.filter(id=recovered.id).update(status="filled", lease_version=2)
    # Signed again under another hash: what must never happen (I1).
    CopyTrade.objects.filter(id=rehashed.id).update(order_hash="0x" + "f" * 64)
    trace = dbtrace.read()
    assert len(trace.recovered) == 1
    assert trace.recovered[0] >= 0
    assert trace.recovered_by_reconciler == 1
    assert trace.unresolved == 1  # the rehashed row is still signed
    assert trace.rehashed == {rehashed.id}
    assert trace.hash_owner[f"0x{rehashed.id:064x}"] == rehashed.id


def test_the_secret_scan_finds_a_secret_cut_by_a_chunk_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "ab" * 32
    log = tmp_path / "worker.log"
    log.write_text("x" * 90 + f" key=0x{secret.upper()} " + "y" * 300)
    monkeypatch.setattr(evidence, "CHUNK", 100)
    monkeypatch.setattr(evidence, "OVERLAP", 80)
    scanner = SecretScanner([("the key", secret)])
    found = [scanner.find(chunk) for chunk in evidence.chunks(log)]
    assert found[0] == []  # the first chunk ends inside the key
    assert ["the key"] in found
