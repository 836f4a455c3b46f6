"""Replay of a recorded Data API ``/activity`` tape through the same recording path (source replay).

A replayed trade happens when it is replayed: ``occurred_at`` is the moment its row is fed, and
the tape's own timestamp is kept in ``raw["timestamp"]``. So a replay is never stale, and with
``speed`` > 0 the tape's gaps between trades are kept (divided by ``speed``), which is what the
demo needs: copies flowing at the leader's rhythm. Rows sharing a tape second are fed together,
so the legs of one transaction become one trade as they do live.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path
from typing import Any

from django.utils import timezone

from copytrading.detection.data_api import MalformedRow, loads, parse_trade_row
from copytrading.detection.record import RecordResult, TradeObservation, leader_trades_record
from copytrading.detection.state import REPLAY_DETECTOR, detector_heartbeat
from copytrading.models import LeaderTrade, WatchedWallet
from polyhunter.lib.addresses import normalize_address


@dataclass
class ReplaySummary:
    rows_read: int = 0
    trade_rows: int = 0
    recorded: int = 0
    fanned_out: int = 0
    stale: int = 0
    duplicates: int = 0
    leaders_created: int = 0
    ignored: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        ignored = ", ".join(f"{kind} {n}" for kind, n in sorted(self.ignored.items())) or "none"
        return [
            f"rows read        {self.rows_read}",
            f"trade rows       {self.trade_rows}",
            f"trades recorded  {self.recorded} ({self.fanned_out} sent to fan-out, {self.stale} stale)",
            f"duplicates       {self.duplicates}",
            f"ignored          {ignored}",
            f"leaders created  {self.leaders_created}",
        ]


def tape_load(path: Path) -> list[Mapping[str, Any]]:
    """A tape is a JSON list of /activity rows (numbers read as Decimal)."""
    rows = loads(path.read_text())
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise ValueError(f"{path} is not a JSON list of /activity rows")
    return rows


def _kind(row: Mapping[str, Any]) -> str:
    # /trades rows have no type; a tape made of them is all trades.
    return str(row.get("type") or "TRADE").upper()


def tape_replay(
    *,
    rows: Sequence[Mapping[str, Any]],
    speed: float = 0.0,
    leader: str | None = None,
    create_leaders: bool = True,
    progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplaySummary:
    """Feed the tape in time order; non-TRADE rows (REDEEM, MERGE, SPLIT, …) are counted, not recorded.

    ``speed`` 0 feeds as fast as possible; X > 0 sleeps the tape's gaps divided by X.
    ``leader`` keeps only that wallet's rows. Tape wallets not watched yet are added as leaders
    unless ``create_leaders`` is false (their rows are then ignored as "unwatched").
    """
    only = normalize_address(leader) if leader else None
    summary = ReplaySummary(rows_read=len(rows))
    ordered = sorted(rows, key=lambda r: int(r.get("timestamp") or 0))
    trades: list[tuple[int, TradeObservation]] = []
    for raw in ordered:
        kind = _kind(raw)
        if only and str(raw.get("proxyWallet", "")).lower() != only:
            summary.ignored["other leader"] += 1
        elif kind != "TRADE":
            summary.ignored[kind] += 1
        else:
            try:
                parsed = parse_trade_row(raw)
            except MalformedRow:
                summary.ignored["malformed"] += 1
                continue
            trades.append((parsed.timestamp, parsed.observation()))
    summary.trade_rows = len(trades)
    summary.leaders_created = _ensure_leaders({obs.leader for _, obs in trades}) if create_leaders else 0
    done = len(rows) - len(trades)
    legs_recorded = 0
    previous: int | None = None
    for second, group in groupby(trades, key=lambda item: item[0]):
        batch = [obs for _, obs in group]
        if speed > 0 and previous is not None:
            sleep((second - previous) / speed)
        previous = second
        result, unwatched = _feed(batch)
        summary.recorded += result.recorded
        summary.fanned_out += len(result.new_ids)
        summary.stale += len(result.stale_ids)
        legs_recorded += result.new_legs
        if unwatched:
            summary.ignored["unwatched"] += unwatched
        done += len(batch)
        if progress:
            progress(done, len(rows))
    # A trade row that did not become a leg of a new trade: seen before, or repeated in the tape.
    summary.duplicates = summary.trade_rows - legs_recorded - summary.ignored["unwatched"]
    detector_heartbeat(name=REPLAY_DETECTOR, cursor=f"{summary.rows_read} rows, {summary.recorded} recorded")
    return summary


def _feed(batch: list[TradeObservation]) -> tuple[RecordResult, int]:
    """Record one tape second, as happening now; returns the result and the unwatched rows."""
    now = timezone.now()
    fed = [replace(obs, occurred_at=now) for obs in batch]
    result = leader_trades_record(observations=fed, source=LeaderTrade.Source.REPLAY, now=now)
    watched = set(
        WatchedWallet.objects.filter(address__in={obs.leader for obs in fed}).values_list("address", flat=True)
    )
    return result, sum(1 for obs in fed if obs.leader not in watched)


def _ensure_leaders(addresses: set[str]) -> int:
    existing = set(WatchedWallet.objects.filter(address__in=addresses).values_list("address", flat=True))
    missing = sorted(addresses - existing)
    WatchedWallet.objects.bulk_create(
        [WatchedWallet(address=a, label="replay tape") for a in missing], ignore_conflicts=True
    )
    return len(missing)
