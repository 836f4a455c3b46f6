"""Recovery under load: does the reconciler keep up while copies flow and the venue misbehaves?

The benchmark's stack (PostgreSQL, Redis, the simulated venue in its own process) with the
Procfile's processes — the ``worker`` line's ``rundramatiq`` queues and the ``scheduler`` line —
and settlement on the venue's timers (mined after 0.5 s, confirmed after 2 s), so every fill has to
be followed to CONFIRMED by the reconciler. Leader trades are injected at a steady rate through
the record service (the real fan-out path) while the venue answers a share of the order POSTs
with a transient refusal (429, 425, 503 cancel-only: nothing placed, the same bytes must go again)
or loses the answer after committing (dropped connection, or an answer slower than the read
timeout). Then the faults stop and the run waits until every copy is terminal.

It reads the Procfile for the worker queues and the scheduler command, so the same harness
measures any version of the code. Figures (JSON in ``var/recovery-bench/<label>.json``):

- ``fill_to_confirmed_s``: CONFIRMED rows, ``finished_at - filled_at``;
- ``unknown_to_resolved_s``: from the moment a row was seen needing recovery (UNKNOWN, or SIGNED
  with a refusal recorded) to the moment it was seen out of it — observed by polling the database
  every 0.25 s (so it works on code without timestamps of its own), and from the rows'
  ``outcome_unknown_at`` / ``outcome_resolved_at`` where the code records them;
- backlog over time: rows due for a check more than 2 s ago, the oldest overdue check, FILLED rows;
- resends of the same bytes (``submit_count - 1``), copies that expired never placed, statuses.

    .venv/bin/python bench/recovery.py --seconds 60 --trades-per-s 5 --label after
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stack import LOGS, Stack, log  # noqa: E402
from bench.world import Shape, followers, scenario  # noqa: E402

OUT = ROOT / "var" / "recovery-bench"
# Transient refusals (never placed) and lost answers (placed), as shares of order POSTs.
FAULTS = (
    ("rate_limit", 0.04),
    ("too_early", 0.01),
    ("cancel_only", 0.01),
    ("drop", 0.02),
    ("delay_after", 0.01),
)


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name.strip(): shlex.split(command) for name, _, command in (line.partition(":") for line in lines) if name}


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "max": round(ordered[-1], 2), "n": len(ordered)}


class Observer(threading.Thread):
    """Polls the database: when each row entered and left recovery, and the backlog over time."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(name="observer", daemon=True)
        self.interval = interval
        self.entered: dict[int, float] = {}
        self.left: dict[int, float] = {}
        self.samples: list[dict[str, Any]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from copytrading.models import CopyTrade

        awaiting = ("signed", "unknown", "delayed", "live")
        try:
            while not self.stop_event.is_set():
                now = time.time()
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT id, status, reason_code, next_check_at FROM copytrading_copytrade "
                        "WHERE status IN ('signed', 'unknown', 'delayed', 'live', 'filled')"
                    )
                    rows = cursor.fetchall()
                recovering = set()
                overdue, oldest, filled = 0, 0.0, 0
                for row_id, status, reason, next_check in rows:
                    if status == CopyTrade.Status.UNKNOWN or (status == CopyTrade.Status.SIGNED and reason):
                        recovering.add(row_id)
                    if status == CopyTrade.Status.FILLED:
                        filled += 1
                    if next_check is not None and status in (*awaiting, "filled"):
                        late = now - next_check.timestamp()
                        if late > 2:
                            overdue += 1
                            oldest = max(oldest, late)
                for row_id in recovering:
                    self.entered.setdefault(row_id, now)
                for row_id in list(self.entered):
                    if row_id not in recovering and row_id not in self.left:
                        self.left[row_id] = now
                self.samples.append(
                    {"t": round(now, 2), "overdue": overdue, "oldest_overdue_s": round(oldest, 1), "filled": filled}
                )
                self.stop_event.wait(self.interval)
        finally:
            connection.close()

    def resolved_seconds(self) -> list[float]:
        return [self.left[i] - t for i, t in self.entered.items() if i in self.left]


def add_faults(url: str, faults: Sequence[tuple[str, float]]) -> None:
    for kind, probability in faults:
        body: dict[str, Any] = {"kind": kind, "endpoint": "POST /order", "count": None, "probability": probability}
        if kind == "delay_after":
            body["delay_ms"] = 4_000  # past the 3 s read timeout: the answer is lost, the order placed
        httpx.post(f"{url}/_sim/faults", json=body, timeout=10).raise_for_status()


def clear_faults(url: str) -> None:
    httpx.delete(f"{url}/_sim/faults", timeout=10).raise_for_status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Recovery under load (reconciler throughput and latency)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long leader trades are injected")
    parser.add_argument("--trades-per-s", type=float, default=5.0, help="leader trades per second")
    parser.add_argument("--leaders", type=int, default=20)
    parser.add_argument("--per-leader", type=int, default=20, help="followers of each leader")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--settle-timeout", type=float, default=600.0)
    parser.add_argument("--label", default="latest")
    parser.add_argument("--database", default="polyhunter_recovery_load")
    parser.add_argument("--redis-db", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="py-spy the workers (var/bench/profile-recovery.txt)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    shape = Shape(accounts=args.leaders * args.per_leader, leaders=args.leaders, per_leader=args.per_leader)
    processes = procfile()
    worker_line, scheduler_line = processes["worker"], processes["scheduler"]
    queues = worker_line[worker_line.index("--queues") + 1 :]
    stack = Stack(workers=2, threads=8, database=args.database, redis_db=args.redis_db)
    try:
        with stack:
            stack.prepare()
            people = followers(shape.accounts)
            world_scenario = scenario(shape, people)
            world_scenario["settlement"] = {"mined_after_ms": 500, "confirmed_after_ms": 2000}
            scenario_file = LOGS / "recovery-scenario.json"
            scenario_file.write_text(json.dumps(world_scenario))
            stack.migrate()
            url = stack.start_simulator(scenario_file)
            os.environ.update(stack.env)
            os.environ["DJANGO_SETTINGS_MODULE"] = "polyhunter.settings"
            os.environ["LOG_LEVEL"] = "WARNING"
            import django

            django.setup()
            from django.core.management import call_command

            call_command("flush", interactive=False, verbosity=0)
            from bench.world import seed

            log(f"seeding {shape.accounts} followers")
            world = seed(shape, people, progress=lambda n, total: log(f"  {n}/{total}"))
            worker_cmd = [sys.executable, "manage.py", "rundramatiq", "--processes", "2", "--threads", "8"]
            stack.spawn("workers", [*worker_cmd, "--queues", *queues], stack.env)
            stack.spawn("scheduler", [sys.executable, *scheduler_line[1:]], stack.env)
            log(f"workers on {' '.join(queues)}; scheduler: {' '.join(scheduler_line[1:])}")
            time.sleep(3)
            profiler = stack.start_profiler("recovery") if args.profile else None
            figures = run(world, stack, url, args)
            if profiler is not None:
                stack.stop_profiler(profiler)
            figures |= {
                "label": args.label,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "git_sha": _git_sha(),
                "queues": queues,
                "scheduler": scheduler_line[1:],
            }
            OUT.mkdir(parents=True, exist_ok=True)
            path = OUT / f"{args.label}.json"
            path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
            print(json.dumps({k: v for k, v in figures.items() if k != "timeline"}, indent=2, default=str))
            log(f"JSON: {path}")
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return 0


def _git_sha() -> str:
    from bench.report import git_sha

    return git_sha()


def run(world: Any, stack: Stack, url: str, args: argparse.Namespace) -> dict[str, Any]:
    from django.db.models import Count

    from bench.world import inject
    from copytrading.models import CopyTrade

    observer = Observer()
    observer.start()
    if not args.no_faults:
        add_faults(url, FAULTS)
    started = time.monotonic()
    interval, next_at, i = 1 / args.trades_per_s, started, 0
    first_id = last_id = None
    while time.monotonic() - started < args.seconds:
        market = world.markets[i % len(world.markets)]
        injected = inject(leader=world.sustained_leaders[i % len(world.sustained_leaders)], market=market)
        first_id = first_id or injected.leader_trade_id
        last_id = injected.leader_trade_id
        i += 1
        next_at += interval
        if i % max(1, int(args.trades_per_s * 5)) == 0:
            stack.check_alive()
            log(f"{i} leader trades injected ({time.monotonic() - started:.0f}/{args.seconds:.0f} s)")
        time.sleep(max(0.0, next_at - time.monotonic()))
    injected_for = time.monotonic() - started
    clear_faults(url)
    log("faults cleared; waiting until every copy is terminal")
    scope = CopyTrade.objects.filter(leader_trade_id__gte=first_id, leader_trade_id__lte=last_id)
    expected = i * args.per_leader
    settle_started = time.monotonic()
    while True:
        open_rows = scope.exclude(status__in=CopyTrade.TERMINAL).count()
        total = scope.count()
        if total >= expected and open_rows == 0:
            break
        if time.monotonic() - settle_started > args.settle_timeout:
            log(f"not settled after {args.settle_timeout:.0f} s: {open_rows} open")
            break
        if int(time.monotonic() - settle_started) % 10 == 0:
            log(f"settling: {open_rows} open of {total}")
        stack.check_alive()
        time.sleep(1)
    settled_after = time.monotonic() - settle_started
    observer.stop_event.set()
    observer.join(timeout=10)
    rows = list(
        scope.values(
            "id",
            "status",
            "reason_code",
            "submit_count",
            "filled_at",
            "finished_at",
            "signed_at",
            "leader_trade__occurred_at",
            *(["outcome_unknown_at", "outcome_resolved_at"] if _has_outcome_fields() else []),
        )
    )
    confirmed = [r for r in rows if r["status"] == CopyTrade.Status.CONFIRMED and r["filled_at"]]
    to_confirmed = [(r["finished_at"] - r["filled_at"]).total_seconds() for r in confirmed]
    recorded = [
        (r["outcome_resolved_at"] - r["outcome_unknown_at"]).total_seconds()
        for r in rows
        if r.get("outcome_unknown_at") and r.get("outcome_resolved_at")
    ]
    expired = [r for r in rows if r["status"] == CopyTrade.Status.EXPIRED]
    statuses = dict(scope.values_list("status").annotate(n=Count("id")).order_by())
    fills_per_s = sum(1 for r in confirmed if r["filled_at"]) / injected_for
    timeline = observer.samples
    return {
        "leader_trades": i,
        "copies": len(rows),
        "inject_seconds": round(injected_for, 1),
        "offered_copies_per_s": round(len(rows) / injected_for, 1),
        "fills_per_s": round(fills_per_s, 1),
        "settled_after_s": round(settled_after, 1),
        "faults": [] if args.no_faults else [{"kind": k, "probability": p} for k, p in FAULTS],
        "statuses": statuses,
        "fill_to_confirmed_s": percentiles(to_confirmed),
        "unknown_to_resolved_s_observed": percentiles(observer.resolved_seconds()),
        "unknown_to_resolved_s_recorded": percentiles(recorded) if _has_outcome_fields() else None,
        "rows_needing_recovery": len(observer.entered),
        "resends_of_same_bytes": sum(max(0, r["submit_count"] - 1) for r in rows),
        "rows_resent": sum(1 for r in rows if r["submit_count"] > 1),
        "expired": len(expired),
        "expired_by_reason": _count(r["reason_code"] for r in expired),
        "max_overdue_rows": max((s["overdue"] for s in timeline), default=0),
        "max_oldest_overdue_s": max((s["oldest_overdue_s"] for s in timeline), default=0),
        "max_filled_backlog": max((s["filled"] for s in timeline), default=0),
        "timeline": timeline[:: max(1, len(timeline) // 240)],
    }


def _has_outcome_fields() -> bool:
    from copytrading.models import CopyTrade

    return any(field.name == "outcome_unknown_at" for field in CopyTrade._meta.get_fields())


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


if __name__ == "__main__":
    sys.exit(main())
