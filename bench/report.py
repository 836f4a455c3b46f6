"""The benchmark's output: bench/results/latest.json and a table for humans."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.scenarios import POST_TIME_SOURCES, Measured

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

REQUIRED_KEYS = (
    "fanout_1000_seconds",
    "sustained_orders_per_s",
    "latency_first_post_ms",
    "latency_each_post_ms",
    "db_roundtrips_per_copy",
    "baseline_orders_per_s",
    "ratio_vs_baseline",
    "official_sdk_orders_per_s",
    "official_sdk_pooled_orders_per_s",
    "ratio_vs_official_sdk",
    "ratio_vs_official_sdk_pooled",
    "cpu_ms_per_copy",
    "workers",
    "followers",
    "git_sha",
    "started_at",
)

DONE = (
    "every expected CopyTrade row exists (one per active follow of each injected leader trade) and none is "
    "PENDING, CLAIMED, SIGNED, UNKNOWN, DELAYED or LIVE: each is FILLED (fill known from the venue's answer; "
    "settlement is not part of the copy) or terminal"
)


def git_sha() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def build(
    *,
    started_at: str,
    mode: str,
    workers: int,
    threads: int,
    followers: int,
    cores: int,
    results: dict[str, Measured],
    phases: dict[str, float],
) -> dict[str, Any]:
    fanout, sustained, latency, baseline = (results[k] for k in ("fanout", "sustained", "latency", "baseline"))
    fanout_posted = fanout.figures["last_post_s"]
    fanout_recorded = fanout.figures["last_recorded_s"]
    fanout_rate = fanout.figures["rows"] / fanout_recorded if fanout_recorded else None
    baseline_rate = baseline.figures["orders_per_s"]
    sustained_rate = sustained.figures["orders_per_s"]
    db = {name: m.db.summary() for name, m in results.items() if m.db is not None}
    roundtrips = db["sustained"]["roundtrips_per_copy"]
    first, each = latency.figures["first_post_ms"], latency.figures["each_post_ms"]
    ratio = round(fanout_rate / baseline_rate, 2) if fanout_rate and baseline_rate else None
    sim_share = sustained.cpu.get("share_of_budget", {}).get("simulator")
    sdk = results["official_sdk"].figures if "official_sdk" in results else {}
    sdk_rate, sdk_pooled = sdk.get("serial_orders_per_s"), sdk.get("pooled_orders_per_s")
    report: dict[str, Any] = {
        "started_at": started_at,
        "git_sha": git_sha(),
        "mode": mode,
        "workers": workers,
        "threads": threads,
        "cores": cores,
        "followers": followers,
        "fanout_followers": fanout.figures["followers"],
        "fanout_1000_seconds": fanout_posted,
        "fanout_1000_recorded_seconds": fanout_recorded,
        "sustained_orders_per_s": sustained_rate,
        "latency_first_post_ms": {k: first[k] for k in ("p50", "p95", "p99")},
        "latency_each_post_ms": {k: each[k] for k in ("p50", "p95", "p99")},
        "db_roundtrips_per_copy": roundtrips,
        "baseline_orders_per_s": baseline_rate,
        "ratio_vs_baseline": ratio,
        "ratio_definition": "fan-out orders/s (all followers' orders recorded) / baseline orders/s, same workload",
        "sustained_ratio_vs_baseline": round(sustained_rate / baseline_rate, 2)
        if sustained_rate and baseline_rate
        else None,
        "official_sdk_orders_per_s": sdk_rate,
        "official_sdk_pooled_orders_per_s": sdk_pooled,
        "ratio_vs_official_sdk": _ratio(fanout_rate, sdk_rate),
        "ratio_vs_official_sdk_pooled": _ratio(fanout_rate, sdk_pooled),
        "official_sdk_ratio_definition": (
            "fan-out orders/s (all followers' orders recorded) / orders/s of polymarket-client 0.14.0 as its README "
            "shows it, one SecureClient per follower, build + sign + POST each (serial loop; pooled: 16 threads)"
        ),
        "cpu_ms_per_copy": cpu_per_copy(sustained),
        "cpu_ms_per_copy_definition": (
            "CPU (utime + stime) of each group over the sustained scenario / copies POSTed in it: the worker tree, "
            "the benchmark database's PostgreSQL backends, the PostgreSQL server's own processes, redis-server, "
            "the simulator, the harness (injector and its polling)"
        ),
        "simulator_cpu_share": sim_share,
        "done_definition": DONE,
        "post_time_source": sorted(POST_TIME_SOURCES),
        "targets": {
            "sustained_orders_per_s >= 500": _met(sustained_rate, 500, higher=True),
            "fanout_1000_seconds <= 2": _met(fanout_posted, 2, higher=False),
            "latency_first_post_ms.p99 <= 50": _met(first["p99"], 50, higher=False),
            "db_roundtrips_per_copy <= 4": _met(roundtrips, 4, higher=False),
            "ratio_vs_baseline >= 10": _met(ratio, 10, higher=True),
        },
        "phases_seconds": {k: round(v, 2) for k, v in phases.items()},
        "scenarios": {name: {"figures": m.figures, "db": db.get(name), "cpu": m.cpu} for name, m in results.items()},
    }
    return report


def _ratio(rate: float | None, against: float | None) -> float | None:
    return round(rate / against, 2) if rate and against else None


def cpu_per_copy(measured: Measured) -> dict[str, float] | None:
    """CPU milliseconds per copy of each process group, and their total."""
    used = measured.cpu.get("cpu_seconds")
    copies = measured.db.copies if measured.db is not None else 0
    if not used or not copies:
        return None
    out = {name: round(1000 * seconds / copies, 3) for name, seconds in used.items()}
    out["total"] = round(1000 * sum(used.values()) / copies, 3)
    return out


def _met(value: float | None, target: float, *, higher: bool) -> dict[str, Any]:
    met = None if value is None else (value >= target if higher else value <= target)
    return {"measured": value, "target": target, "met": met}


def write(report: dict[str, Any], path: Path | None = None) -> Path:
    path = path or RESULTS / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False, default=str) + "\n")
    return path


def _pair(report: dict[str, Any]) -> str:
    serial, pooled = report["official_sdk_orders_per_s"], report["official_sdk_pooled_orders_per_s"]
    if serial is None or pooled is None:
        return "n/a"
    return f"{serial:,.1f} / {pooled:,.1f}"


def table(report: dict[str, Any]) -> str:
    def fmt(value: object, unit: str = "") -> str:
        if value is None:
            return "n/a"
        if isinstance(value, float):
            return f"{value:,.2f}{unit}"
        return f"{value}{unit}"

    first, each = report["latency_first_post_ms"], report["latency_each_post_ms"]
    sc = report["scenarios"]
    lines = [
        f"PolyHunter benchmark ({report['mode']}) {report['started_at']}  git {report['git_sha'][:12]}",
        f"{report['workers']} worker processes x {report['threads']} threads, {report['cores']} cores, "
        f"{report['followers']} followers",
        "",
        f"{'measure':48s} {'value':>16s}  target",
    ]
    rows = [
        (
            f"fan-out {report['fanout_followers']} followers: last POST",
            fmt(report["fanout_1000_seconds"], " s"),
            "<= 2 s",
        ),
        ("fan-out: last answer recorded", fmt(report["fanout_1000_recorded_seconds"], " s"), ""),
        ("sustained copy orders/s (end to end)", fmt(report["sustained_orders_per_s"]), ">= 500"),
        (
            "  asked / offered orders/s",
            f"{fmt(sc['sustained']['figures']['asked_orders_per_s'])} / "
            f"{fmt(sc['sustained']['figures']['offered_orders_per_s'])}",
            "",
        ),
        (
            "detection -> first POST p50/p95/p99 (ms)",
            "/".join(fmt(first[k]) for k in ("p50", "p95", "p99")),
            "p99 <= 50",
        ),
        ("detection -> each POST p50/p95/p99 (ms)", "/".join(fmt(each[k]) for k in ("p50", "p95", "p99")), ""),
        ("DB round trips per copy (sustained)", fmt(report["db_roundtrips_per_copy"]), "<= 4"),
        ("baseline orders/s (one process, serial)", fmt(report["baseline_orders_per_s"]), ""),
        ("ratio vs baseline (fan-out)", fmt(report["ratio_vs_baseline"], "x"), ">= 10x"),
        ("ratio vs baseline (sustained)", fmt(report["sustained_ratio_vs_baseline"], "x"), ""),
        ("official SDK orders/s (serial / pool of 16)", _pair(report), ""),
        ("ratio vs official SDK (fan-out; serial)", fmt(report["ratio_vs_official_sdk"], "x"), ""),
        ("ratio vs official SDK (fan-out; pool of 16)", fmt(report["ratio_vs_official_sdk_pooled"], "x"), ""),
        ("simulator share of the 2-core budget (sustained)", fmt(report["simulator_cpu_share"]), ""),
    ]
    lines += [f"{name:48s} {value:>16s}  {target}" for name, value, target in rows]
    cpu = sc["sustained"]["cpu"]
    if cpu:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in cpu["share_of_budget"].items())
        lines.append(
            f"CPU during sustained (share of {report['cores']} cores): {shares}; other work on the box "
            f"{cpu['other_work_share']:.0%}"
        )
    per_copy = report["cpu_ms_per_copy"]
    if per_copy:
        groups = ", ".join(f"{k} {v:.2f}" for k, v in per_copy.items() if k != "total")
        lines.append(f"CPU ms per copy (sustained): {per_copy['total']:.2f} = {groups}")
    lines.append("")
    lines += [
        f"target {name}: {'met' if t['met'] else 'NOT met' if t['met'] is False else 'n/a'} ({fmt(t['measured'])})"
        for name, t in report["targets"].items()
    ]
    return "\n".join(lines)
