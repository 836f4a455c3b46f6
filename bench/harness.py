"""Run every scenario against an already started stack (Django set up, workers consuming)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bench import scenarios
from bench.scenarios import Measured, Probe, say
from bench.world import Seeded


@dataclass(frozen=True)
class Plan:
    warm_up_trades: int
    latency_trades: int
    latency_interval_s: float
    sustained_seconds: float
    sustained_trades_per_s: float
    # Followers given their own official-SDK client for that baseline (~240 ms of CPU each to make).
    sdk_clients: int = 100
    # Leader trades each of them copies (serially, then as many again with the pool).
    sdk_trades: int = 5


FULL = Plan(
    warm_up_trades=24,
    latency_trades=150,
    latency_interval_s=0.2,
    sustained_seconds=30.0,
    sustained_trades_per_s=25.0,
    sdk_clients=100,
)
QUICK = Plan(
    warm_up_trades=12,
    latency_trades=40,
    latency_interval_s=0.15,
    sustained_seconds=8.0,
    sustained_trades_per_s=25.0,
    sdk_clients=16,
)


class NullProbe:
    """In-process runs: no child processes to watch; CPU of this process only."""

    def cpu_sample(self) -> Any:
        import os

        from bench.stack import CpuSample, cpu_seconds, machine_busy_seconds

        pid = os.getpid()
        return CpuSample(
            at=time.monotonic(), groups={"harness": {pid: cpu_seconds(pid)}}, machine=machine_busy_seconds()
        )

    def check_alive(self) -> None:
        return None


def run_all(
    world: Seeded, plan: Plan, *, probe: Probe, cores: int, phases: dict[str, float], profile: bool = False
) -> dict[str, Measured]:
    results: dict[str, Measured] = {}

    def phase(name: str, work: Any) -> Any:
        say(f"-- {name}")
        started = time.monotonic()
        value = work()
        phases[name] = time.monotonic() - started
        return value

    phase("warm-up", lambda: scenarios.warm_up(world, probe=probe, rounds=plan.warm_up_trades))
    results["latency"] = phase(
        "latency",
        lambda: scenarios.latency(
            world, probe=probe, cores=cores, trades=plan.latency_trades, interval=plan.latency_interval_s
        ),
    )
    say(f"latency: first POST {results['latency'].figures['first_post_ms']}")
    results["fanout"] = phase("fan-out", lambda: scenarios.fanout(world, probe=probe, cores=cores))
    say(f"fan-out: {results['fanout'].figures}")
    profiler = probe.start_profiler("sustained") if profile else None  # type: ignore[attr-defined]
    results["sustained"] = phase(
        "sustained",
        lambda: scenarios.sustained(
            world,
            probe=probe,
            cores=cores,
            seconds=plan.sustained_seconds,
            trades_per_s=plan.sustained_trades_per_s,
        ),
    )
    if profiler is not None:
        probe.stop_profiler(profiler)  # type: ignore[attr-defined]
    say(f"sustained: {results['sustained'].figures['orders_per_s']} orders/s")
    results["baseline"] = phase("baseline", lambda: scenarios.baseline(world, probe=probe, cores=cores))
    say(f"baseline: {results['baseline'].figures['orders_per_s']} orders/s")
    if plan.sdk_clients > 0:
        results["official_sdk"] = phase(
            "official SDK",
            lambda: scenarios.official_sdk(
                world, probe=probe, cores=cores, clients=plan.sdk_clients, trades=plan.sdk_trades
            ),
        )
        sdk = results["official_sdk"].figures
        say(f"official SDK: {sdk['serial_orders_per_s']} orders/s serial, {sdk['pooled_orders_per_s']} pooled")
    return results
