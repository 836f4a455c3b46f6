"""The soak's progress line while it runs, and its report: var/soak/report.json and a table."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soak.checks import GATING, Outcome

if TYPE_CHECKING:
    from soak.run import Soak

PRINT_EVERY = 5.0
OPEN = ("pending", "claimed", "signed", "unknown", "delayed", "live", "filled")


def wait_for_line(path: Path, marker: str, *, timeout: float) -> str:
    """Wait until ``marker`` appears in a child's log; returns the rest of that line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                if marker in line:
                    return line.split(marker, 1)[1].strip()
        time.sleep(0.1)
    raise SystemExit(f"{marker!r} never appeared in {path}")


@dataclass
class Snapshot:
    statuses: dict[str, int]
    leader_trades: int
    unfanned: int
    oldest_due_s: float

    @property
    def open(self) -> int:
        return sum(self.statuses.get(s, 0) for s in OPEN)

    @property
    def settled(self) -> bool:
        return self.open == 0 and self.unfanned == 0


@dataclass
class Progress:
    """One line every few seconds; the worst backlog seen, for the report."""

    last_event: str = ""
    printed_at: float = 0.0
    db_down: int = 0
    max_open: int = 0
    max_oldest_due_s: float = 0.0
    samples: list[dict[str, Any]] = field(default_factory=list)

    def maybe_print(self, soak: Soak, *, phase: str, elapsed: float) -> Snapshot | None:
        now = time.monotonic()
        if now - self.printed_at < PRINT_EVERY:
            return None
        self.printed_at = now
        snapshot = _snapshot()
        queues = soak.sampler.queues if soak.sampler is not None else {}
        waiting = ", ".join(f"{k} {v}" for k, v in sorted(queues.items()) if v and not k.endswith(".DQ"))
        traffic = soak.injector.traffic if soak.injector is not None else None
        chaos = (
            f"kills {sum(soak.kills.values())} restarts {soak.supervisor.restarts} "
            f"redis {soak.redis.restarts if soak.redis else 0} pg {soak.postgres.restarts if soak.postgres else 0}"
        )
        if snapshot is None:
            self.db_down += 1
            print(
                f"[soak {time.strftime('%H:%M:%S')} {phase} +{elapsed:.0f}s] database unavailable | {chaos}", flush=True
            )
            return None
        self.max_open = max(self.max_open, snapshot.open)
        self.max_oldest_due_s = max(self.max_oldest_due_s, snapshot.oldest_due_s)
        self.samples.append({"phase": phase, "t": round(elapsed, 1), "open": snapshot.open, **snapshot.statuses})
        s = snapshot.statuses
        done = s.get("confirmed", 0) + s.get("filled", 0)
        line = (
            f"[soak {time.strftime('%H:%M:%S')} {phase} +{elapsed:.0f}s] "
            f"leader trades {snapshot.leader_trades}"
            + (f" (+{traffic.retries} retries)" if traffic and traffic.retries else "")
            + f" | copies {sum(s.values())}: open {snapshot.open} "
            f"(pending {s.get('pending', 0)} claimed {s.get('claimed', 0)} signed {s.get('signed', 0)} "
            f"unknown {s.get('unknown', 0)} filled {s.get('filled', 0)}), done {done}, "
            f"expired {s.get('expired', 0)} | oldest due check {snapshot.oldest_due_s:.0f}s"
            + (f" | queued: {waiting}" if waiting else "")
            + f" | {chaos}"
            + (f" | last: {self.last_event}" if self.last_event else "")
        )
        print(line, flush=True)
        return snapshot


def _snapshot() -> Snapshot | None:
    from django.db import DatabaseError, InterfaceError, connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT status, count(*) FROM copytrading_copytrade GROUP BY status")
            statuses = {status: int(n) for status, n in cursor.fetchall()}
            cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'new') FROM copytrading_leadertrade")
            leader_trades, unfanned = cursor.fetchone()
            cursor.execute(
                "SELECT EXTRACT(EPOCH FROM now() - min(next_check_at)) FROM copytrading_copytrade"
                " WHERE status IN ('signed', 'unknown', 'delayed', 'live', 'filled') AND next_check_at <= now()"
            )
            (oldest,) = cursor.fetchone()
    except (DatabaseError, InterfaceError):
        connection.close()  # restarted under us: reconnect at the next look
        return None
    return Snapshot(
        statuses=statuses, leader_trades=int(leader_trades), unfanned=int(unfanned), oldest_due_s=float(oldest or 0)
    )


def build(soak: Soak, outcome: Outcome) -> dict[str, Any]:
    from bench.report import git_sha

    plan, supervisor = soak.plan, soak.supervisor
    assert soak.redis is not None
    assert soak.postgres is not None
    assert soak.injector is not None
    kills = sum(soak.kills.values())
    chaos: dict[str, Any] = {
        "kills": kills,
        "kills_by_role": soak.kills,
        "process_restarts": supervisor.restarts,
        "processes": supervisor.exits_summary(),
        "redis_restarts": soak.redis.restarts,
        "postgres_restarts": soak.postgres.restarts,
        "venue_fault_windows": soak.faults.windows,
        "venue_fault_hits": soak.faults.hits,
        "faults_survived": sum(soak.faults.windows.values()),
        "requests_faulted": sum(soak.faults.hits.values()),
        "events": soak.events,
    }
    minimums = {
        "kills": [kills, plan.min_kills],
        "redis_restarts": [soak.redis.restarts, 2],
        "postgres_restarts": [soak.postgres.restarts, 1],
    }
    minimums_met = all(have >= want for have, want in minimums.values())
    traffic = soak.injector.traffic
    warnings = []
    scheduler = chaos["processes"].get("scheduler", {})
    if scheduler.get("unprovoked_exits"):
        warnings.append(
            f"the scheduler exited by itself {scheduler['unprovoked_exits']} (exit code: count); a process manager "
            "that restarts only on failure would leave reconcile, sweep and detection stopped after an exit 0"
        )
    if traffic.failures:
        warnings.append(f"{traffic.failures} leader trades could not be recorded within 90 s")
    return {
        "passed": minimums_met and not any(outcome.counts.values()),
        **outcome.counts,
        "counts_gating": list(GATING),
        "chaos_minimums": {"met": minimums_met, **{k: {"got": v[0], "need": v[1]} for k, v in minimums.items()}},
        "chaos": chaos,
        "latency_s": outcome.figures.pop("latency_s"),
        "resends_same_bytes": outcome.figures.pop("resends_same_bytes"),
        "traffic": {
            **outcome.figures,
            "record_retries": traffic.retries,
            "record_failures": traffic.failures,
            "record_errors": traffic.errors,
            "max_open_copies": soak.progress.max_open,
            "max_oldest_due_check_s": round(soak.progress.max_oldest_due_s, 1),
            "progress_lines_without_database": soak.progress.db_down,
        },
        "findings": {name: messages for name, messages in outcome.findings.items() if messages},
        "warnings": warnings,
        "run": {
            "mode": soak.mode,
            "seed": soak.seed,
            "started_at": soak.started_at,
            "git_sha": git_sha(),
            "chaos_seconds": plan.chaos_seconds,
            "settle_seconds_max": plan.settle_seconds,
            "trades_per_s": plan.trades_per_s,
            "worker_pools": plan.pools,
            "world": soak.world.summary(),
            "phases_s": {k: round(v, 1) for k, v in soak.phases.items()},
            "cores": _cores(),
            "load_average_at_end": _loadavg(),
        },
        "timeline": soak.progress.samples,
    }


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def _loadavg() -> list[float]:
    import os

    return [round(x, 2) for x in os.getloadavg()]


def write(built: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(built, indent=2, default=str) + "\n")
    return path


def table(built: dict[str, Any]) -> str:
    chaos = built["chaos"]
    latency = built["latency_s"]
    unknown, confirm = latency["unknown_to_resolved"], latency["fill_to_confirmed"]
    resends = built["resends_same_bytes"]
    lines = ["count                        value", "---------------------------  -----"]
    lines += [f"{name:<27}  {built[name]:>5}" for name in GATING]
    lines += [
        "",
        f"kills {chaos['kills']} {chaos['kills_by_role']}, process restarts {chaos['process_restarts']}, "
        f"Redis restarts {chaos['redis_restarts']}, PostgreSQL restarts {chaos['postgres_restarts']}, "
        f"venue fault windows {chaos['faults_survived']} ({chaos['requests_faulted']} requests faulted)",
        f"UNKNOWN -> resolved p50 {unknown['p50']} s, p99 {unknown['p99']} s (n={unknown['n']}); "
        f"fill -> CONFIRMED p50 {confirm['p50']} s, p99 {confirm['p99']} s (n={confirm['n']})",
        f"resends of the same bytes: {resends['resends']} ({resends['rows_resent']} rows); "
        f"the same bytes reached the venue twice {resends['same_bytes_seen_twice_by_venue']} times",
        f"copies {built['traffic']['copy_trades']}: {built['traffic']['copy_trades_by_status']}",
    ]
    lines += [f"warning: {w}" for w in built["warnings"]]
    for name, messages in built["findings"].items():
        lines.append(f"{name}: e.g. {messages[0]}")
    verdict = "PASSED" if built["passed"] else "FAILED"
    if not built["chaos_minimums"]["met"]:
        verdict += f" (chaos minimums not met: {built['chaos_minimums']})"
    lines.append(f"\nsoak {verdict}")
    return "\n".join(lines)
