"""The scenarios and what each one measures (docs/performance.md explains the method).

Times come from the database, written by the workers with the machine's one wall clock:
``LeaderTrade.detected_at`` is when the record service got the trade (the injector passes it),
``CopyTrade.submitted_at`` is taken by the worker right before it hands the order to the HTTP
client (the POST), ``recorded_at`` when the venue's answer was written. A run is *done* when
every expected CopyTrade row exists and none is still in flight (PENDING, CLAIMED, SIGNED,
UNKNOWN, DELAYED or LIVE): each is terminal or FILLED (its fill is known; settlement follows
later and is not part of the copy).
"""

from __future__ import annotations

import itertools
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.db import connection
from django.db.models import Count, Q

from bench import dbcount
from bench.baseline import baseline_run
from bench.official_sdk import POOL_THREADS, official_sdk_run
from bench.world import Injected, Market, Seeded, inject
from copytrading.models import CopyRelationship, CopyTrade

IN_FLIGHT = [
    CopyTrade.Status.PENDING,
    CopyTrade.Status.CLAIMED,
    CopyTrade.Status.SIGNED,
    CopyTrade.Status.UNKNOWN,
    CopyTrade.Status.DELAYED,
    CopyTrade.Status.LIVE,
]


class Probe(Protocol):
    """What the scenarios need from the stack: CPU readings and a liveness check."""

    def cpu_sample(self) -> Any: ...

    def check_alive(self) -> None: ...


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """Nearest-rank p50/p95/p99 (and max); None when there is nothing to rank."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "max": round(ordered[-1], 2), "n": len(ordered)}


def _ms(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else (later - earlier).total_seconds() * 1000


def wait_done(trades: list[Injected], expected_rows: int, *, probe: Probe, label: str, timeout: float = 180.0) -> float:
    """Block until the run is done (see module doc); returns the harness's wall time waited."""
    ids = [t.leader_trade_id for t in trades]
    scope = Q(leader_trade_id__gte=min(ids), leader_trade_id__lte=max(ids))
    started = time.monotonic()
    shown = 0.0
    while True:
        counts = CopyTrade.objects.filter(scope).aggregate(
            total=Count("id"),
            in_flight=Count("id", filter=Q(status__in=IN_FLIGHT)),
            posted=Count("id", filter=Q(submitted_at__isnull=False) | Q(recorded_at__isnull=False)),
        )
        if counts["total"] >= expected_rows and counts["in_flight"] == 0:
            return time.monotonic() - started
        now = time.monotonic()
        if now - shown >= 1.0:
            say(f"{label}: {counts['posted']}/{expected_rows} posted, {counts['in_flight']} in flight")
            shown = now
            probe.check_alive()
        if now - started > timeout:
            raise RuntimeError(f"{label}: not done after {timeout:.0f}s: {counts}")
        time.sleep(0.05)


def _follow_counts(leaders: Sequence[str]) -> dict[str, int]:
    rows = (
        CopyRelationship.objects.filter(leader__address__in=list(leaders), status=CopyRelationship.Status.ACTIVE)
        .values("leader__address")
        .annotate(n=Count("id"))
    )
    return {row["leader__address"]: row["n"] for row in rows}


def expected_rows(trades: list[Injected]) -> int:
    """One CopyTrade per active follow of each trade's leader."""
    counts = _follow_counts(sorted({t.leader for t in trades}))
    return sum(counts.get(t.leader, 0) for t in trades)


def _waiting(trades: list[Injected]) -> int:
    """Copies of these trades not done yet (including rows fan-out has not created yet)."""
    ids = [t.leader_trade_id for t in trades]
    done = (
        CopyTrade.objects.filter(leader_trade_id__gte=min(ids), leader_trade_id__lte=max(ids))
        .exclude(status__in=IN_FLIGHT)
        .count()
    )
    return expected_rows(trades) - done


def _statuses(trades: list[Injected]) -> dict[str, int]:
    ids = [t.leader_trade_id for t in trades]
    rows = CopyTrade.objects.filter(leader_trade_id__in=ids).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


# Where POST times came from: "submitted_at" (taken right before the POST) unless a row has
# none, then its recorded_at (right after the answer) stands in and this says so.
POST_TIME_SOURCES: set[str] = set()


def _rows(trades: list[Injected]) -> list[tuple[int, datetime | None, datetime | None, datetime]]:
    """(leader trade id, POST time, recorded time, created time) of every copy of these trades."""
    ids = [t.leader_trade_id for t in trades]
    rows = CopyTrade.objects.filter(leader_trade_id__in=ids).values_list(
        "leader_trade_id", "submitted_at", "recorded_at", "created_at"
    )
    out = []
    for trade_id, submitted_at, recorded_at, created_at in rows:
        if submitted_at is None and recorded_at is not None:
            POST_TIME_SOURCES.add("recorded_at")
            submitted_at = recorded_at
        elif submitted_at is not None:
            POST_TIME_SOURCES.add("submitted_at")
        out.append((trade_id, submitted_at, recorded_at, created_at))
    return out


@dataclass
class DbCounts:
    """Round trips counted in the workers (bench/dbcount.py) over one scenario."""

    by_actor: dict[str, dict[str, int]]
    copies: int
    leader_trades: int
    detection_statements: int = 0
    detection_transactions: int = 0

    def summary(self) -> dict[str, Any]:
        execute = self.by_actor.get("execute_copy_trades", dict.fromkeys(dbcount.FIELDS, 0))
        fanout = self.by_actor.get("fan_out", dict.fromkeys(dbcount.FIELDS, 0))
        statements = execute["statements"] + fanout["statements"]
        transactions = execute["transactions"] + fanout["transactions"]
        checks = execute["health_checks"] + fanout["health_checks"]
        per = max(self.copies, 1)
        return {
            "copies": self.copies,
            "leader_trades": self.leader_trades,
            "execute_messages": execute["messages"],
            "rows_per_execute_message": round(execute["rows"] / execute["messages"], 2) if execute["messages"] else 0,
            "statements_per_copy": round(statements / per, 3),
            "transactions_per_copy": round(transactions / per, 3),
            "health_checks_per_copy": round(checks / per, 3),
            # BEGIN and COMMIT are a round trip each; so is a connection health check.
            "roundtrips_per_copy": round((statements + 2 * transactions + checks) / per, 3),
            "execute_roundtrips_per_copy": round(
                (execute["statements"] + 2 * execute["transactions"] + execute["health_checks"]) / per, 3
            ),
            "fanout_roundtrips_per_leader_trade": round(
                (fanout["statements"] + 2 * fanout["transactions"] + fanout["health_checks"])
                / max(self.leader_trades, 1),
                2,
            ),
            "detection_roundtrips_per_leader_trade": round(
                (self.detection_statements + 2 * self.detection_transactions) / max(self.leader_trades, 1), 2
            ),
            "by_actor": self.by_actor,
        }


class _DetectionCounter:
    """Statements of the record service in this (injecting) process."""

    def __init__(self) -> None:
        self.statements = 0
        self.transactions = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        self.statements += 1
        raw = context["connection"].connection
        info = getattr(raw, "info", None)
        if info is not None and not raw.autocommit and info.transaction_status == 0:
            self.transactions += 1
        return execute(sql, params, many, context)


@dataclass
class Measured:
    """One scenario's figures plus CPU use over its wall time."""

    figures: dict[str, Any]
    db: DbCounts | None = None
    cpu: dict[str, Any] = field(default_factory=dict)


def cpu_delta(before: Any, after: Any, cores: int) -> dict[str, Any]:
    if before is None or after is None:
        return {}
    wall = after.at - before.at
    used = {name: round(value, 3) for name, value in after.used_since(before).items()}
    budget = cores * wall
    machine = after.machine - before.machine
    ours = sum(used.values())
    return {
        "wall_seconds": round(wall, 3),
        "cpu_seconds": used,
        "share_of_budget": {name: round(value / budget, 4) for name, value in used.items()} if budget else {},
        "machine_busy_share": round(machine / budget, 4) if budget else None,
        "other_work_share": round(max(0.0, machine - ours) / budget, 4) if budget else None,
    }


def _measure(
    probe: Probe, cores: int, run: Callable[[], tuple[dict[str, Any], int, int, _DetectionCounter]]
) -> Measured:
    dbcount.counts_reset()
    before = probe.cpu_sample()
    figures, copies, leader_trades, detection = run()
    after = probe.cpu_sample()
    db = DbCounts(
        by_actor=dbcount.counts_read(),
        copies=copies,
        leader_trades=leader_trades,
        detection_statements=detection.statements,
        detection_transactions=detection.transactions,
    )
    return Measured(figures=figures, db=db, cpu=cpu_delta(before, after, cores))


def _inject_counted(counter: _DetectionCounter, *, leader: str, market: Market) -> Injected:
    with connection.execute_wrapper(counter):
        return inject(leader=leader, market=market)


# Scenarios


def warm_up(world: Seeded, *, probe: Probe, rounds: int) -> None:
    """Open connections and fill each worker process's market/book/version caches."""
    trades = []
    for i in range(rounds):
        market = world.markets[i % len(world.markets)]
        trades.append(inject(leader=world.sustained_leaders[i % len(world.sustained_leaders)], market=market))
        time.sleep(0.02)
    wait_done(trades, expected_rows(trades), probe=probe, label="warm-up", timeout=120)


def fanout(world: Seeded, *, probe: Probe, cores: int) -> Measured:
    def run() -> tuple[dict[str, Any], int, int, _DetectionCounter]:
        counter = _DetectionCounter()
        trade = _inject_counted(counter, leader=world.fanout_leader, market=world.markets[0])
        wait_done([trade], world.accounts, probe=probe, label="fan-out")
        rows = _rows([trade])
        t0 = trade.detected_at
        posted = [r[1] for r in rows if r[1] is not None]
        recorded = [r[2] for r in rows if r[2] is not None]
        figures = {
            "followers": world.accounts,
            "rows": len(rows),
            "rows_created_s": round((max(r[3] for r in rows) - t0).total_seconds(), 3),
            "first_post_ms": round(_ms(min(posted), t0) or 0, 2) if posted else None,
            "last_post_s": round((max(posted) - t0).total_seconds(), 3) if posted else None,
            "last_recorded_s": round((max(recorded) - t0).total_seconds(), 3) if recorded else None,
            "statuses": _statuses([trade]),
        }
        return figures, len(posted), 1, counter

    return _measure(probe, cores, run)


def latency(world: Seeded, *, probe: Probe, cores: int, trades: int, interval: float) -> Measured:
    """Light load: one leader trade every ``interval`` seconds, each copied by its followers."""

    def run() -> tuple[dict[str, Any], int, int, _DetectionCounter]:
        counter = _DetectionCounter()
        injected = []
        next_at = time.monotonic()
        for i in range(trades):
            leader = world.latency_leaders[i % len(world.latency_leaders)]
            injected.append(_inject_counted(counter, leader=leader, market=world.markets[i % len(world.markets)]))
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        wait_done(injected, expected_rows(injected), probe=probe, label="latency")
        figures, posted = _latencies(injected)
        figures |= {
            "leader_trades": trades,
            "interval_s": interval,
            "copies": posted,
            "offered_orders_per_s": round(posted / (trades * interval), 1),
        }
        return figures, posted, trades, counter

    return _measure(probe, cores, run)


def _latencies(injected: list[Injected]) -> tuple[dict[str, Any], int]:
    detected = {t.leader_trade_id: t.detected_at for t in injected}
    first: dict[int, float] = {}
    each: list[float] = []
    recorded: list[float] = []
    for trade_id, submitted_at, recorded_at, _ in _rows(injected):
        t0 = detected[trade_id]
        if submitted_at is not None:
            ms = (submitted_at - t0).total_seconds() * 1000
            each.append(ms)
            first[trade_id] = min(first.get(trade_id, ms), ms)
        if recorded_at is not None:
            recorded.append((recorded_at - t0).total_seconds() * 1000)
    figures = {
        "first_post_ms": percentiles(list(first.values())),
        "each_post_ms": percentiles(each),
        "each_recorded_ms": percentiles(recorded),
        "first_copy_phases_ms": _first_copy_phases(injected),
        "statuses": _statuses(injected),
    }
    return figures, len(each)


def _first_copy_phases(injected: list[Injected]) -> dict[str, dict[str, float | None]]:
    """Where the time to the first POST goes, per leader trade (its first-posted copy):
    detection -> fan-out committed (rows created) -> claimed by a worker -> signed -> POST."""
    detected = {t.leader_trade_id: t.detected_at for t in injected}
    firsts: dict[int, tuple[datetime, datetime, datetime, datetime]] = {}
    rows = CopyTrade.objects.filter(leader_trade_id__in=list(detected), submitted_at__isnull=False).values_list(
        "leader_trade_id", "created_at", "claimed_at", "signed_at", "submitted_at"
    )
    for trade_id, created_at, claimed_at, signed_at, submitted_at in rows:
        if claimed_at is None or signed_at is None or submitted_at is None:
            continue
        if trade_id not in firsts or submitted_at < firsts[trade_id][3]:
            firsts[trade_id] = (created_at, claimed_at, signed_at, submitted_at)
    spans: dict[str, list[float]] = {"fan_out": [], "queue_to_claim": [], "claim_to_signed": [], "signed_to_post": []}
    for trade_id, (created_at, claimed_at, signed_at, submitted_at) in firsts.items():
        marks = [detected[trade_id], created_at, claimed_at, signed_at, submitted_at]
        for name, (start, end) in zip(spans, itertools.pairwise(marks), strict=True):
            spans[name].append((end - start).total_seconds() * 1000)
    return {name: percentiles(values) for name, values in spans.items()}


def sustained(
    world: Seeded, *, probe: Probe, cores: int, seconds: float, trades_per_s: float, max_backlog: int = 3000
) -> Measured:
    """Leader trades at a steady rate, round robin over the leaders (each with its followers).

    The rate is the one asked for as long as the platform keeps up. When it does not, the copies
    waiting (not yet POSTed) would grow without bound and, after two minutes, go stale; so the
    injector waits while more than ``max_backlog`` copies are waiting, and reports how long it
    waited. The figure is then the platform's own capacity, measured end to end.
    """

    def run() -> tuple[dict[str, Any], int, int, _DetectionCounter]:
        counter = _DetectionCounter()
        injected: list[Injected] = []
        started = time.monotonic()
        interval = 1 / trades_per_s
        next_at, shown, checked, throttled, i = started, started, started, 0.0, 0
        while time.monotonic() - started < seconds:
            leader = world.sustained_leaders[i % len(world.sustained_leaders)]
            injected.append(_inject_counted(counter, leader=leader, market=world.markets[i % len(world.markets)]))
            i += 1
            next_at += interval
            now = time.monotonic()
            if now - checked >= 0.5:
                checked = now
                while _waiting(injected) > max_backlog and time.monotonic() - started < seconds:
                    time.sleep(0.1)
                waited = time.monotonic() - now
                if waited > 0.001:
                    throttled += waited
                    next_at = time.monotonic()
            if now - shown >= 2:
                say(f"sustained: {i} leader trades injected ({now - started:.0f}/{seconds:.0f}s)")
                shown = now
                probe.check_alive()
            time.sleep(max(0.0, next_at - time.monotonic()))
        injected_for = time.monotonic() - started
        expected = expected_rows(injected)
        wait_done(injected, expected, probe=probe, label="sustained", timeout=600)
        rows = _rows(injected)
        posted = [r[1] for r in rows if r[1] is not None]
        recorded = [r[2] for r in rows if r[2] is not None]
        first_detected = min(t.detected_at for t in injected)
        last_detected = max(t.detected_at for t in injected)
        end_to_end = (max(recorded) - first_detected).total_seconds()
        # Orders recorded while the injector was running (after a 2 s ramp) per second.
        lo = first_detected.timestamp() + 2
        hi = last_detected.timestamp()
        steady = sum(1 for r in recorded if lo <= r.timestamp() <= hi) / (hi - lo) if hi > lo else None
        figures, _ = _latencies(injected)
        figures |= {
            "leaders": len(world.sustained_leaders),
            "follows": sum(_follow_counts(world.sustained_leaders).values()),
            "leader_trades": len(injected),
            "inject_seconds": round(injected_for, 2),
            "asked_orders_per_s": round(trades_per_s * expected / max(len(injected), 1), 1),
            "offered_orders_per_s": round(expected / injected_for, 1),
            "injector_waited_s": round(throttled, 2),
            "orders": len(posted),
            "end_to_end_seconds": round(end_to_end, 3),
            "orders_per_s": round(len(recorded) / end_to_end, 1) if end_to_end else None,
            "steady_orders_per_s": round(steady, 1) if steady is not None else None,
            "drain_after_last_trade_s": round((max(recorded) - last_detected).total_seconds(), 3),
        }
        return figures, len(posted), len(injected), counter

    return _measure(probe, cores, run)


def baseline(world: Seeded, *, probe: Probe, cores: int) -> Measured:
    before = probe.cpu_sample()
    result = baseline_run(leader=world.fanout_leader, market=world.markets[0], tx_hash="0x" + secrets.token_hex(32))
    after = probe.cpu_sample()
    figures = {
        "orders": result.orders,
        "seconds": round(result.seconds, 3),
        "orders_per_s": round(result.orders_per_s, 1),
        "statuses": result.statuses,
    }
    return Measured(figures=figures, cpu=cpu_delta(before, after, cores))


def official_sdk(world: Seeded, *, probe: Probe, cores: int, clients: int, trades: int) -> Measured:
    """The official SDK as a user would run it (bench/official_sdk.py): the first ``clients``
    followers, one client each, copying ``trades`` leader trades serially, then ``trades`` more
    with a thread pool."""
    from django.conf import settings

    before = probe.cpu_sample()
    result = official_sdk_run(
        url=settings.POLYMARKET_CLOB_URL.rstrip("/"),
        chain_id=settings.POLYMARKET_CHAIN_ID,
        people=world.people[:clients],
        markets=world.markets,
        trades=trades,
    )
    after = probe.cpu_sample()
    figures = {
        "clients": result.clients,
        "leader_trades": result.trades,
        "orders": result.orders,
        "client_setup_ms_each": round(1000 * result.setup_seconds / max(result.clients, 1), 1),
        "serial_seconds": round(result.serial_seconds, 3),
        "serial_orders_per_s": round(result.serial_orders_per_s, 1),
        "pool_threads": POOL_THREADS,
        "pooled_seconds": round(result.pooled_seconds, 3),
        "pooled_orders_per_s": round(result.pooled_orders_per_s, 1),
        "statuses": result.statuses,
    }
    return Measured(figures=figures, cpu=cpu_delta(before, after, cores))
