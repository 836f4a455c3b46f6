"""``make soak``: the platform under chaos, through its real processes, then the invariants.

Starts PostgreSQL and Redis of its own (free ports, data under var/soak/, never the machine's),
the simulated venue behind the recording proxy, and the Procfile's worker pools, exits worker and
scheduler under a supervisor that restarts what exits; seeds a world like the benchmark's;
injects leader trades continuously through the record service while it SIGKILLs processes every
5-20 s, restarts Redis twice and PostgreSQL once and injects venue faults; then stops the faults
and lets the reconciler settle; then checks everything and writes var/soak/report.json. Exits 1
when any count of the report is not zero or the chaos did not happen as planned.

    .venv/bin/python soak/run.py [--quick] [--minutes 20] [--seed N]   (docs/reliability.md)
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import secrets
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stack import Stack  # noqa: E402
from soak import chaos, report  # noqa: E402
from soak.evidence import RedisSampler  # noqa: E402
from soak.processes import Managed, Supervisor, procfile  # noqa: E402
from soak.services import OwnPostgres, OwnRedis  # noqa: E402
from soak.world import SoakShape, people  # noqa: E402

VAR = ROOT / "var" / "soak"
LOGS = VAR / "logs"
MESSAGES = VAR / "messages"
DATABASE = "polyhunter_soak"
# A fixed, public key for the soak's own database only (never a real one).
KEYRING = "soak1:cG9seWh1bnRlci1zb2FrLW9ubHkta2V5LTMyYnl0ZXM="
READ_TIMEOUT_S = 3.0  # the workers' VENUE_READ_TIMEOUT (the default): delay faults go 2 s past it


@dataclass(frozen=True)
class Plan:
    chaos_seconds: float
    settle_seconds: float
    trades_per_s: float
    sell_share: float
    shape: SoakShape
    pools: int
    min_kills: int


def plan_for(*, quick: bool, minutes: float | None, trades_per_s: float | None, pools: int) -> Plan:
    if quick:
        base = Plan(
            chaos_seconds=120,
            settle_seconds=90,
            trades_per_s=2.0,
            sell_share=0.1,
            shape=SoakShape(modes={"speed": 140, "session": 20, "paper": 40}, leaders=10),
            pools=pools,
            min_kills=10,
        )
    else:
        base = Plan(
            chaos_seconds=20 * 60,
            settle_seconds=300,
            trades_per_s=2.5,
            sell_share=0.1,
            shape=SoakShape(modes={"speed": 420, "session": 60, "paper": 120}, leaders=30),
            pools=pools,
            min_kills=0,  # from the length, below
        )
    chaos_seconds = minutes * 60 if minutes else base.chaos_seconds
    return Plan(
        chaos_seconds=chaos_seconds,
        settle_seconds=base.settle_seconds,
        trades_per_s=trades_per_s or base.trades_per_s,
        sell_share=base.sell_share,
        shape=base.shape,
        pools=pools,
        # As many kills as always fit (gaps are at most 20 s); the quick run asks for more: its 10
        # fit in the 110 s after the warm-up (the schedule redraws gaps until they do).
        min_kills=base.min_kills
        if quick and not minutes
        else int((chaos_seconds - chaos.WARM_UP) // chaos.KILL_GAP[1]),
    )


def say(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PolyHunter chaos soak on its own PostgreSQL and Redis")
    parser.add_argument("--quick", action="store_true", help="about three minutes (200 followers, 2 min of chaos)")
    parser.add_argument("--minutes", type=float, help="minutes of traffic under chaos (default 20; quick 2)")
    parser.add_argument("--trades-per-s", type=float, help="leader trades per second (default 2.5; quick 2)")
    parser.add_argument("--pools", type=int, default=2, help="worker pools (the Procfile's worker line each)")
    parser.add_argument("--seed", type=int, help="seed of the chaos schedule (default: random, printed)")
    parser.add_argument("--out", type=Path, default=VAR / "report.json")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    plan = plan_for(quick=args.quick, minutes=args.minutes, trades_per_s=args.trades_per_s, pools=args.pools)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    run = Soak(plan=plan, seed=seed, mode="quick" if args.quick else "full")
    try:
        built = run.execute()
    except KeyboardInterrupt:
        say("interrupted: stopping everything this run started")
        return 130
    finally:
        run.shutdown()
    path = report.write(built, args.out)
    print()
    print(report.table(built))
    print(f"\nJSON: {path}   logs: {LOGS}")
    return 0 if built["passed"] else 1


class Soak:
    def __init__(self, *, plan: Plan, seed: int, mode: str) -> None:
        self.plan = plan
        self.seed = seed
        self.mode = mode
        self.rng = random.Random(seed)
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.postgres: OwnPostgres | None = None
        self.redis: OwnRedis | None = None
        self.stack: Stack | None = None
        self.supervisor = Supervisor()
        self.sampler: RedisSampler | None = None
        self.injector: Any = None
        self.kills: dict[str, int] = {"worker": 0, "exits": 0, "scheduler": 0}
        self.events: list[str] = []
        self.progress = report.Progress()
        self.phases: dict[str, float] = {}

    # Set-up

    def _services(self) -> dict[str, str]:
        if VAR.exists():
            shutil.rmtree(VAR)
        LOGS.mkdir(parents=True)
        MESSAGES.mkdir(parents=True)
        self.postgres = OwnPostgres(VAR).start()
        self.postgres.create_database(DATABASE)
        self.redis = OwnRedis(VAR).start()
        say(f"own PostgreSQL on 127.0.0.1:{self.postgres.port}, own Redis on 127.0.0.1:{self.redis.port} ({VAR})")
        return {
            **{k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")},
            "DATABASE_URL": self.postgres.url(DATABASE),
            "REDIS_URL": self.redis.url(0),
            "ENCRYPTION_KEYS": KEYRING,
            # PostgreSQL refuses the public default SECRET_KEY: a throwaway one per run, which the
            # secret scan then looks for in every output like any other secret.
            "SECRET_KEY": secrets.token_urlsafe(50),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            "VENUE_READ_TIMEOUT": str(READ_TIMEOUT_S),
            "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        }

    def _venue(self, env: dict[str, str]) -> None:
        import json

        from soak.world import scenario as venue_scenario

        assert self.stack is not None
        scenario_file = VAR / "scenario.json"
        scenario_file.write_text(json.dumps(venue_scenario(self.plan.shape, people(self.plan.shape))))
        url = self.stack.start_simulator(scenario_file)
        self.simulator_url = url
        self.stack.spawn(
            "proxy",
            [sys.executable, "-m", "soak.proxy", "--upstream", url, "--log", str(VAR / "order-posts.jsonl")],
            self.stack.env,
        )
        proxy_url = report.wait_for_line(LOGS / "proxy.log", "venue proxy listening on ", timeout=30)
        env["POLYMARKET_CLOB_URL"] = env["POLYMARKET_DATA_URL"] = proxy_url
        say(f"simulated venue at {url}, workers talk to it through the recording proxy at {proxy_url}")

    def _django(self, env: dict[str, str]) -> None:
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "polyhunter.settings"
        import django

        django.setup()
        root = logging.getLogger()
        # The harness's own log (the record service runs here) goes to a file the I5 scan reads.
        handler = logging.FileHandler(LOGS / "harness.log")
        for old in list(root.handlers):
            handler.setFormatter(old.formatter)
            for log_filter in old.filters:
                handler.addFilter(log_filter)
            root.removeHandler(old)
        root.addHandler(handler)

    def _processes(self, env: dict[str, str]) -> None:
        lines = procfile()
        prometheus = VAR / "prometheus"

        def managed(name: str, role: str, line: str) -> Managed:
            metrics = prometheus / name
            metrics.mkdir(parents=True, exist_ok=True)
            pool_env = {
                **env,
                "DJANGO_SETTINGS_MODULE": "soak.settings",
                "SOAK_MESSAGES_DIR": str(MESSAGES),
                # Everything the order path may say, for the secret scan (as the suite's I5 reads).
                "LOG_LEVEL": "DEBUG",
                "dramatiq_prom_port": "0",
                "dramatiq_prom_db": str(metrics),
            }
            return Managed(name=name, role=role, command=lines[line], env=pool_env, log=LOGS / f"{name}.log")

        for n in range(self.plan.pools):
            self.supervisor.add(managed(f"worker-{chr(ord('a') + n)}", "worker", "worker"))
        self.supervisor.add(managed("exits", "exits", "exits"))
        self.supervisor.add(managed("scheduler", "scheduler", "scheduler"))
        self.supervisor.start()
        for item in self.supervisor.managed:
            if item.role != "scheduler":
                report.wait_for_line(item.log, "Worker process is ready for action", timeout=120)
        say(
            "processes up (Procfile): "
            + ", ".join(f"{m.name} = {' '.join(m.command[1:])}" for m in self.supervisor.managed)
        )

    def execute(self) -> dict[str, Any]:
        began = time.monotonic()
        env = self._services()
        self.stack = Stack(workers=0, threads=0, logs=LOGS)
        self.stack.env = dict(env)
        self.stack.migrate()
        self._venue(env)
        self._django(env)
        from execution.venue.gateway import default_gateway
        from soak import dbtrace
        from soak.world import seed

        dbtrace.install()
        default_gateway.cache_clear()
        shape = self.plan.shape
        say(f"seeding {shape.accounts} followers ({shape.modes}), {shape.leaders} leaders")
        self.world = seed(shape, people(shape), progress=lambda n, total: say(f"  {n}/{total} followers set up"))
        say(f"world: {self.world.summary()}")
        self._processes(env)
        self.phases["setup"] = time.monotonic() - began
        self._chaos()
        self._settle()
        return self._finish(began)

    # The run

    def _chaos(self) -> None:
        from soak.traffic import Injector

        assert self.redis is not None
        assert self.postgres is not None
        events = chaos.schedule(
            seconds=self.plan.chaos_seconds, rng=self.rng, read_timeout_s=READ_TIMEOUT_S, min_kills=self.plan.min_kills
        )
        self.faults = chaos.VenueFaults(self.simulator_url, seed=self.seed)
        self.sampler = RedisSampler(self.redis.url(0), VAR / "redis-payloads.jsonl")
        self.sampler.start()
        self.injector = Injector(
            leaders=self.world.leaders,
            markets=self.world.markets,
            rate=self.plan.trades_per_s,
            sell_share=self.plan.sell_share,
            rng=random.Random(self.seed + 1),
        )
        say(
            f"chaos for {self.plan.chaos_seconds:.0f} s (seed {self.seed}): {self.plan.trades_per_s} leader trades/s, "
            f"{sum(e.what == 'kill' for e in events)} kills, Redis x2, PostgreSQL x1, "
            f"{sum(e.what == 'fault_on' for e in events)} venue fault windows"
        )
        started = time.monotonic()
        self.injector.start()
        pending = list(events)
        while True:
            elapsed = time.monotonic() - started
            while pending and pending[0].at <= elapsed:
                self._apply(pending.pop(0))
            if elapsed >= self.plan.chaos_seconds:
                break
            self.progress.maybe_print(self, phase="chaos", elapsed=elapsed)
            time.sleep(0.2)
        self.injector.stopping.set()
        self.injector.join(timeout=120)
        self.faults.clear()
        self.phases["chaos"] = time.monotonic() - started

    def _apply(self, event: chaos.Event) -> None:
        assert self.redis is not None
        assert self.postgres is not None
        if event.what == "kill":
            done = self.supervisor.kill(self.rng, roles=("worker", "exits", "scheduler"))
            if done is not None:
                role = next(m.role for m in self.supervisor.managed if done.startswith(m.name + ":"))
                self.kills[role] += 1
            text = f"SIGKILL {done}" if done else "kill skipped: nothing running"
        elif event.what == "redis":
            self.redis.restart(wipe=event.wipe, down_for=2.0)
            text = f"Redis restarted ({'data wiped' if event.wipe else 'append-only file kept'})"
        elif event.what == "postgres":
            self.postgres.restart(down_for=3.0)
            text = "PostgreSQL restarted (immediate shutdown: every connection cut)"
        elif event.what == "fault_on":
            assert event.fault is not None
            self.faults.on(event.fault)
            fault = event.fault
            text = f"venue fault on: {fault.name} ({fault.kind} {fault.endpoint} p={fault.probability})"
        else:
            assert event.fault is not None
            self.faults.off(event.fault.name)
            text = f"venue fault off: {event.fault.name}"
        self.events.append(f"{time.strftime('%H:%M:%S')} {text}")
        self.progress.last_event = text
        say(text)

    def _settle(self) -> None:
        say(f"faults and kills stopped; letting the reconciler settle (at most {self.plan.settle_seconds:.0f} s)")
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            snapshot = self.progress.maybe_print(self, phase="settle", elapsed=elapsed)
            if snapshot is not None and snapshot.settled:
                say(f"settled after {elapsed:.0f} s")
                break
            if elapsed >= self.plan.settle_seconds:
                say(f"not settled after {elapsed:.0f} s: what is left is reported as stuck")
                break
            time.sleep(1.0)
        self.phases["settle"] = time.monotonic() - started

    def _finish(self, began: float) -> dict[str, Any]:
        from soak.checks import Inputs, run_checks

        self.supervisor.stop()
        assert self.sampler is not None
        assert self.redis is not None
        assert self.postgres is not None
        self.sampler.stopping.set()
        self.sampler.join(timeout=30)
        self.sampler.sample()
        say("checking the invariants over every row (I1-I5, duplicates, expiries, lost trades, secrets)")
        started = time.monotonic()
        outcome = run_checks(
            Inputs(
                world=self.world,
                injected=self.injector.traffic.injected,
                simulator_url=self.simulator_url,
                posts_file=VAR / "order-posts.jsonl",
                logs=sorted(LOGS.glob("*.log")),
                payloads=[VAR / "redis-payloads.jsonl", *sorted(MESSAGES.glob("*.jsonl"))],
            )
        )
        self.phases["checks"] = time.monotonic() - started
        self.phases["total"] = time.monotonic() - began
        return report.build(self, outcome)

    def shutdown(self) -> None:
        self.supervisor.stop(timeout=30)
        if self.injector is not None:
            self.injector.stopping.set()
        if self.sampler is not None:
            self.sampler.stopping.set()
        if self.stack is not None:
            self.stack.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
