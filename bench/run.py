"""``make bench``: the copy pipeline on the real stack, against a naive baseline, in one run.

Starts (or reuses) PostgreSQL and Redis on 127.0.0.1, a dedicated database ``polyhunter_bench``
and Redis database 9, the simulated venue as its own process (signature and HMAC checks on),
and ``rundramatiq`` worker processes; seeds speed-mode followers whose API credentials are
derived from the venue by L1 auth; injects leader trades through the detection record service;
waits until every copy is done; prints a table and writes bench/results/latest.json.
docs/performance.md describes every figure.

    .venv/bin/python bench/run.py [--quick] [--workers 2] [--threads 8] [--sdk-clients N] [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stack import LOGS, Stack, log  # noqa: E402
from bench.world import Shape, followers, scenario  # noqa: E402


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PolyHunter copy benchmark on the real stack")
    parser.add_argument("--quick", action="store_true", help="reduced sizes, under a minute")
    parser.add_argument("--workers", type=int, default=2, help="rundramatiq --processes")
    parser.add_argument("--threads", type=int, default=8, help="rundramatiq --threads")
    parser.add_argument(
        "--prefetch", type=int, help="messages each worker process prefetches per queue (dramatiq_queue_prefetch)"
    )
    parser.add_argument("--followers", type=int, help="accounts (fan-out followers); default 1000, quick 200")
    parser.add_argument("--sustained-seconds", type=float, help="how long leader trades are injected")
    parser.add_argument("--trades-per-s", type=float, help="leader trades per second in the sustained scenario")
    parser.add_argument(
        "--sdk-clients",
        type=int,
        help="followers given an official-SDK client for that baseline (default 100, quick 16; 0 skips it)",
    )
    parser.add_argument(
        "--database", default="polyhunter_bench", help="the benchmark's own database (emptied at every run)"
    )
    parser.add_argument("--redis-db", type=int, default=9, help="the benchmark's own Redis database (flushed)")
    parser.add_argument("--out", type=Path, help="JSON output (default bench/results/latest.json)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the workers during the sustained scenario (var/bench/*.txt)"
    )
    parser.add_argument(
        "--chain", action="store_true", help="the venue settles every match on a local anvil node (run_local_chain)"
    )
    args = parser.parse_args(argv)
    # Both, explicitly: a shell without job control starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)

    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    accounts = args.followers or (200 if args.quick else 1000)
    shape = Shape(accounts=accounts, leaders=10 if args.quick else 50, per_leader=20)
    phases: dict[str, float] = {}
    began = time.monotonic()
    stack = Stack(
        workers=args.workers,
        threads=args.threads,
        prefetch=args.prefetch,
        chain=args.chain,
        database=args.database,
        redis_db=args.redis_db,
    )
    try:
        with stack:
            stack.prepare()
            people = followers(shape.accounts)
            scenario_file = LOGS / "scenario.json"
            scenario_file.write_text(json.dumps(scenario(shape, people)))
            stack.migrate()
            url = stack.start_simulator(scenario_file)
            settles = ", settling every match on a local anvil node" if args.chain else ""
            log(f"simulated venue at {url} (pid {stack.pid('simulator')}), signature and HMAC checks on{settles}")
            os.environ.update(stack.env)
            os.environ["DJANGO_SETTINGS_MODULE"] = "polyhunter.settings"
            os.environ["LOG_LEVEL"] = "WARNING"  # the harness's own log; workers keep the default
            import django

            django.setup()
            from django.core.management import call_command

            from bench import report
            from bench.harness import FULL, QUICK, run_all
            from bench.world import seed

            call_command("flush", interactive=False, verbosity=0)
            from execution.venue.gateway import default_gateway

            default_gateway.cache_clear()
            phases["setup"] = time.monotonic() - began
            log(f"seeding {shape.accounts} followers (custody: keys sealed, API keys derived by L1 auth)")
            seeded_at = time.monotonic()
            world = seed(shape, people, progress=lambda n, total: log(f"  {n}/{total} followers set up"))
            phases["seed"] = time.monotonic() - seeded_at
            stack.start_workers()
            log(
                f"workers: rundramatiq --processes {args.workers} --threads {args.threads} (pid {stack.pid('workers')})"
            )
            plan = QUICK if args.quick else FULL
            if args.sustained_seconds or args.trades_per_s:
                plan = dataclasses.replace(
                    plan,
                    sustained_seconds=args.sustained_seconds or plan.sustained_seconds,
                    sustained_trades_per_s=args.trades_per_s or plan.sustained_trades_per_s,
                )
            if args.sdk_clients is not None:
                plan = dataclasses.replace(plan, sdk_clients=args.sdk_clients)
            cores = os.cpu_count() or 1
            results = run_all(world, plan, probe=stack, cores=cores, phases=phases, profile=args.profile)
            phases["total"] = time.monotonic() - began
            built = report.build(
                started_at=started_at,
                mode="quick" if args.quick else "full",
                workers=args.workers,
                threads=args.threads,
                followers=shape.accounts,
                cores=cores,
                results=results,
                phases=phases,
            )
            built["prefetch"] = args.prefetch or 2  # dramatiq_queue_prefetch (settings default: 2)
            path = report.write(built, args.out)
            print()
            print(report.table(built))
            print(f"\nJSON: {path}   logs: {LOGS}")
    except KeyboardInterrupt:
        log("interrupted: stopping the processes this run started")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
