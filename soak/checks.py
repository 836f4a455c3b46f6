"""The end of a soak: the reliability suite's I1-I5 checker (tests/copytrading/reliability/
invariants.py) over every row of the run, plus what only a run can show, turned into the counts
of ``var/soak/report.json``. docs/reliability.md defines each count.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from soak import dbtrace
from soak.evidence import chunks
from soak.proxy import read_posts
from soak.traffic import Injected
from soak.world import SoakWorld

GATING = (
    "duplicate_orders",
    "expired_while_fresh",
    "rows_with_two_hashes",
    "unexplained_venue_orders",
    "cap_breaches",
    "stuck_rows",
    "lost_leader_trades",
    "secret_hits",
)
# Which count each kind of finding of the suite's checker adds to.
KIND_TO_COUNT = {
    "foreign_post": "duplicate_orders",
    "posted_more_than_counted": "duplicate_orders",
    "hash_without_bytes": "rows_with_two_hashes",
    "counted_unsigned": "rows_with_two_hashes",
    "bytes_corrupt": "rows_with_two_hashes",
    "bytes_of_another_hash": "rows_with_two_hashes",
    "unmapped_order": "unexplained_venue_orders",
    "unknown_order": "unexplained_venue_orders",
    "unknown_trade": "unexplained_venue_orders",
    "fills_on_never_traded": "unexplained_venue_orders",
    "overfilled": "cap_breaches",
    "order_cap": "cap_breaches",
    "daily_cap": "cap_breaches",
    "account_cap": "cap_breaches",
    "market_cap": "cap_breaches",
    "stuck_unflagged": "stuck_rows",
    "stuck_unlisted": "stuck_rows",
    "nobody_job": "stuck_rows",
    "secret": "secret_hits",
}
# A copy that had at least this long of its signal's freshness left to get placed, and expired
# unplaced, is one the platform should have placed (issue 17: the resend/recovery target, 30 s).
RECOVERY_SLA = timedelta(seconds=30)
SAMPLE = 20  # findings kept per count in the report


@dataclass
class Inputs:
    world: SoakWorld
    injected: list[Injected]
    simulator_url: str
    posts_file: Path
    logs: list[Path]
    payloads: list[Path]  # Redis payloads: sampled from Redis, and every message a process sent or took
    follower_pages_for: int = 5


@dataclass
class Outcome:
    counts: dict[str, int]
    findings: dict[str, list[str]]
    figures: dict[str, Any] = field(default_factory=dict)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=120) as response:
        return json.loads(response.read())


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    from bench.scenarios import percentiles as nearest_rank

    return dict(nearest_rank(values))


def run_checks(inputs: Inputs) -> Outcome:
    from django.utils import timezone

    from copytrading.models import CopyTrade
    from execution.models import GuardrailSettings
    from tests.copytrading.reliability import invariants as inv

    findings: dict[str, list[str]] = {name: [] for name in GATING}
    counts: Counter[str] = Counter()

    def add(count: str, message: str) -> None:
        counts[count] += 1
        if len(findings[count]) < SAMPLE:
            findings[count].append(message)

    rows = list(CopyTrade.objects.select_related("relationship", "account", "leader_trade").order_by("id"))
    venue_orders = _get(inputs.simulator_url + "/_sim/orders")
    venue_trades = _get(inputs.simulator_url + "/_sim/trades")
    posts = read_posts(inputs.posts_file)
    trace = dbtrace.read()
    client = inv.staff_client()

    suite = [
        *inv.i1_one_order_hash_per_copy(rows, venue_orders, posts),
        *inv.i2_fills_and_caps_hold(rows, venue_trades, inv.Caps()),
        *inv.i3_nothing_stuck_silently(rows, client),
        *inv.i4_every_venue_order_maps_to_a_copy(rows, venue_orders, venue_trades),
        *inv.i5_no_secret_anywhere(_haystacks(inputs, rows, client), inv.SecretScanner.of_accounts()),
    ]
    for finding in suite:
        add(KIND_TO_COUNT[finding.kind], finding.message)

    # Re-signatures: a row whose order hash changed once set.
    for row_id in sorted(trace.rehashed):
        add("rows_with_two_hashes", f"copy trade {row_id} changed its order hash")
    # More than one venue order for one copy, under any hash the row ever held.
    owner_of = {row.order_hash.lower(): row.id for row in rows if row.order_hash}
    owner_of.update(trace.hash_owner)
    for owner, n in Counter(owner_of.get(str(o["id"]).lower()) for o in venue_orders).items():
        if owner is not None and n > 1:
            add("duplicate_orders", f"copy trade {owner} has {n} orders at the venue")

    max_age = timedelta(seconds=GuardrailSettings.current().max_leader_trade_age_seconds)
    for row in rows:
        if row.status == CopyTrade.Status.EXPIRED:
            ready = row.signed_at or row.created_at
            if ready + RECOVERY_SLA <= row.signal_time + max_age:
                left = (row.signal_time + max_age - ready).total_seconds()
                add(
                    "expired_while_fresh",
                    f"copy trade {row.id} expired ({row.reason_code}: {row.reason_detail[:80]}) though its signal "
                    f"had {left:.0f} s of freshness left when it was {'signed' if row.signed_at else 'created'}",
                )
        elif not row.is_terminal:
            add("stuck_rows", f"copy trade {row.id} is still {row.status} at the end ({row.reason_code})")

    lost, stale = _lost_leader_trades(inputs)
    for message in lost:
        add("lost_leader_trades", message)

    now = timezone.now()
    by_status = Counter(row.status for row in rows)
    confirmed = [
        (row.finished_at - row.filled_at).total_seconds()
        for row in rows
        if row.status == CopyTrade.Status.CONFIRMED and row.order_hash and row.filled_at and row.finished_at
    ]
    figures: dict[str, Any] = {
        "copy_trades": len(rows),
        "copy_trades_by_status": dict(sorted(by_status.items())),
        # Each custody mode signs and places differently: every mode must have done real work.
        "copy_trades_by_mode": _by_mode(rows),
        "reasons": dict(Counter(row.reason_code for row in rows if row.reason_code).most_common(25)),
        "leader_trades_injected": len(inputs.injected),
        "leader_trades_recorded_stale": stale,
        "order_posts_at_venue": sum(posts.values()),
        "orders_at_venue": len(venue_orders),
        "trades_at_venue": len(venue_trades),
        "resends_same_bytes": {
            # The reconciler's POSTs of stored bytes (submit_count counts every attempt, the
            # first one from the moment the order is signed, so a worker killed before its POST
            # leaves 1 and the reconciler's resend makes it 2).
            "resends": sum(row.submit_count - 1 for row in rows if row.submit_count > 1),
            "rows_resent": sum(1 for row in rows if row.submit_count > 1),
            # The same signed bytes arriving at the venue more than once (the venue refuses the
            # second as a duplicate): resends whose first POST had reached it.
            "same_bytes_seen_twice_by_venue": sum(n - 1 for n in posts.values() if n > 1),
        },
        "latency_s": {
            "unknown_to_resolved": percentiles(trace.recovered),
            "unknown_resolved_by_another_lease": trace.recovered_by_reconciler,
            "unknown_never_resolved": trace.unresolved,
            "fill_to_confirmed": percentiles(confirmed),
        },
        "skipped_stale_after_fanout": sum(
            1 for row in rows if row.status == CopyTrade.Status.SKIPPED and row.reason_code == "stale"
        ),
        "status_transitions_traced": trace.transitions,
        "checked_at": now.isoformat(timespec="seconds"),
    }
    return Outcome(counts={name: counts[name] for name in GATING}, findings=findings, figures=figures)


def _lost_leader_trades(inputs: Inputs) -> tuple[list[str], int]:
    """Injected trades never recorded, or recorded without one copy row per follow of the leader."""
    from django.db.models import Count

    from copytrading.models import LeaderTrade

    keys = [entry.dedupe_key for entry in inputs.injected]
    stored = {
        row["dedupe_key"]: row
        for row in LeaderTrade.objects.filter(dedupe_key__in=keys)
        .values("dedupe_key", "status", "id")
        .annotate(copies=Count("copy_trades"))
    }
    lost: list[str] = []
    stale = 0
    for entry in inputs.injected:
        row = stored.get(entry.dedupe_key)
        if row is None:
            lost.append(f"leader trade {entry.dedupe_key[:60]}… was never recorded ({entry.error or 'no error seen'})")
            continue
        if row["status"] == LeaderTrade.Status.STALE:
            stale += 1
            continue
        expected = inputs.world.follows_of(entry.leader)
        if row["copies"] < expected:
            lost.append(
                f"leader trade {row['id']} ({row['status']}) has {row['copies']} copy rows for {expected} follows"
            )
    return lost, stale


def _by_mode(rows: list[Any]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = {}
    for row in rows:
        out.setdefault(row.account.mode, Counter())[row.status] += 1
    return {mode: dict(sorted(counts.items())) for mode, counts in sorted(out.items())}


def _haystacks(inputs: Inputs, rows: list[Any], client: Any) -> Iterator[tuple[str, str]]:
    """Logs and Redis payloads in chunks, then the admin pages and a few followers' pages."""
    from tests.copytrading.reliability import invariants as inv

    for path in inputs.logs:
        for chunk in chunks(path):
            yield (f"log {path.name}", chunk)
    for path in inputs.payloads:
        for chunk in chunks(path):
            yield (f"Redis payloads {path.name}", chunk)
    yield from inv._admin_pages(rows, client)
    yield from _follower_pages(rows, inputs.follower_pages_for)


def _follower_pages(rows: list[Any], how_many: int) -> Iterable[tuple[str, str]]:
    from django.test import Client
    from django.urls import reverse

    users = []
    for row in rows:
        if row.order_hash and row.account.user_id not in users:
            users.append(row.account.user_id)
        if len(users) >= how_many:
            break
    from accounts.models import User

    for user in User.objects.filter(id__in=users):
        client = Client()
        client.force_login(user)
        for name in ("dashboard", "dashboard_copies", "history", "follows", "custody"):
            response = client.get(reverse(name))
            yield (f"GET {reverse(name)} as {user.username} ({response.status_code})", response.content.decode())
