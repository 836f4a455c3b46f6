"""The benchmark end to end at toy size: it completes and writes the JSON report (no timing is
asserted; ``make bench`` measures). Everything in process: the configured broker (Redis in CI,
in-process by default) with a real worker, the database of the suite, the simulated venue over
HTTP on 127.0.0.1 with its signature and HMAC checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
from django.test import override_settings

from bench import report
from bench.dbcount import QueryCounter
from bench.harness import NullProbe, Plan, run_all
from bench.world import Shape, followers, scenario, seed
from execution.simulator import VenueSimulator
from execution.venue.gateway import default_gateway
from polyhunter.broker import stop_worker

SHAPE = Shape(accounts=4, leaders=2, per_leader=2, markets=2, latency_leaders=2, latency_per_leader=1)
PLAN = Plan(
    warm_up_trades=2,
    latency_trades=3,
    latency_interval_s=0.05,
    sustained_seconds=1.0,
    sustained_trades_per_s=3.0,
    sdk_clients=2,
    sdk_trades=2,
)


@pytest.fixture
def counted(broker: dramatiq.Broker) -> Iterator[dramatiq.Broker]:
    """The worker's broker with the benchmark's query counter, removed again afterwards."""
    counter = QueryCounter()
    broker.add_middleware(counter)
    yield broker
    broker.middleware.remove(counter)


@pytest.mark.django_db(transaction=True)
def test_a_tiny_benchmark_completes_and_writes_the_report(counted: dramatiq.Broker, tmp_path: Path) -> None:
    people = followers(SHAPE.accounts)
    phases: dict[str, float] = {}
    with (
        VenueSimulator(scenario(SHAPE, people)) as sim,
        override_settings(POLYMARKET_CLOB_URL=sim.url, POLYMARKET_DATA_URL=sim.url),
    ):
        default_gateway.cache_clear()
        worker = dramatiq.Worker(counted, worker_timeout=100, worker_threads=2)
        worker.start()
        try:
            world = seed(SHAPE, people)
            results = run_all(world, PLAN, probe=NullProbe(), cores=2, phases=phases)
        finally:
            stop_worker(worker)
            default_gateway.cache_clear()
    built = report.build(
        started_at="2026-01-01T00:00:00+00:00",
        mode="smoke",
        workers=1,
        threads=2,
        followers=SHAPE.accounts,
        cores=2,
        results=results,
        phases=phases,
    )
    path = report.write(built, tmp_path / "latest.json")
    written = json.loads(path.read_text())
    assert set(report.REQUIRED_KEYS) <= set(written)
    for key in ("latency_first_post_ms", "latency_each_post_ms"):
        assert set(written[key]) == {"p50", "p95", "p99"}
    assert written["fanout_followers"] == SHAPE.accounts
    # Every copy of every scenario was done: filled (or terminal), none left in flight.
    for name in ("fanout", "latency", "sustained"):
        statuses = written["scenarios"][name]["figures"]["statuses"]
        assert set(statuses) == {"filled"}, (name, statuses)
    assert written["scenarios"]["baseline"]["figures"]["orders"] == SHAPE.accounts
    # The official SDK's clients copied too (each trade serially, then pooled), every order filled.
    assert written["scenarios"]["official_sdk"]["figures"]["statuses"] == {
        "matched": 2 * PLAN.sdk_clients * PLAN.sdk_trades
    }
    for key in ("ratio_vs_official_sdk", "ratio_vs_official_sdk_pooled"):
        assert key in written
    # CPU per copy by process group (in process: the harness is the only group) and in total.
    assert {"harness", "total"} <= set(written["cpu_ms_per_copy"])
    assert written["db_roundtrips_per_copy"] > 0
    assert "submitted_at" in written["post_time_source"]
    assert report.table(written)
