"""The one path every detector records through: aggregate legs, dedupe, freshness, fan-out.

A leader trade is identified by ``leader:tx_hash:token_id:SIDE`` whichever source saw it, so the
chain, the Data API and a replay can race freely: the first insert wins and the others are
ignored by the unique ``dedupe_key``. Fan-out is enqueued on commit, only for rows this call
inserted with status NEW.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from copytrading.detection.metrics import DETECTION_LAG, LEADER_TRADES
from copytrading.fanout import fanout_enqueue
from copytrading.freshness import leader_trade_age, venue_offset_or_none
from copytrading.models import LeaderTrade, WatchedWallet

SIX_PLACES = Decimal("0.000001")
TEN_PLACES = Decimal("0.0000000001")
# Enough to audit an aggregate; a whale's 300-leg sweep should not become a megabyte JSON row.
MAX_RAW_LEGS = 20


@dataclass(frozen=True, slots=True)
class TradeObservation:
    """One leg of a leader's trade as some source saw it.

    ``leg_id`` names the leg inside its transaction (``log:<index>`` on chain, the row's own
    values for the Data API) so the same leg seen twice is counted once, while distinct legs of
    one transaction are summed.
    """

    leader: str
    tx_hash: str
    token_id: str
    side: str
    shares: Decimal
    usdc: Decimal
    occurred_at: datetime
    leg_id: str
    block_number: int | None = None
    condition_id: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AggregatedTrade:
    key: str
    leader: str
    tx_hash: str
    token_id: str
    side: str
    shares: Decimal
    usdc: Decimal
    price: Decimal
    legs: int
    occurred_at: datetime
    block_number: int | None
    condition_id: str
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordResult:
    new_ids: list[int]
    stale_ids: list[int]
    duplicates: int
    unwatched: int
    empty: int
    new_legs: int = 0

    @property
    def recorded(self) -> int:
        return len(self.new_ids) + len(self.stale_ids)


def dedupe_key(*, leader: str, tx_hash: str, token_id: str, side: str) -> str:
    """The cross-source identity of a leader trade (same format as the test factories)."""
    return f"{leader.lower()}:{tx_hash.lower()}:{token_id}:{side.upper()}"


def aggregate_observations(observations: Iterable[TradeObservation]) -> list[AggregatedTrade]:
    """All legs of one transaction for (leader, token, side) become one trade.

    Shares and USDC are summed and the price is their ratio, i.e. the volume-weighted price.
    Order of the result follows first appearance, so callers see trades in the order given.
    """
    legs: dict[str, dict[str, TradeObservation]] = defaultdict(dict)
    for obs in observations:
        key = dedupe_key(leader=obs.leader, tx_hash=obs.tx_hash, token_id=obs.token_id, side=obs.side)
        legs[key].setdefault(obs.leg_id, obs)
    return [trade for key, by_leg in legs.items() if (trade := _aggregate(key, list(by_leg.values())))]


def _aggregate(key: str, legs: list[TradeObservation]) -> AggregatedTrade | None:
    first = legs[0]
    shares = sum((leg.shares for leg in legs), Decimal(0))
    usdc = sum((leg.usdc for leg in legs), Decimal(0))
    if shares <= 0:
        return None
    block_numbers = [leg.block_number for leg in legs if leg.block_number is not None]
    return AggregatedTrade(
        key=key,
        leader=first.leader.lower(),
        tx_hash=first.tx_hash.lower(),
        token_id=first.token_id,
        side=first.side.upper(),
        shares=shares.quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN),
        usdc=usdc.quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN),
        price=(usdc / shares).quantize(TEN_PLACES, rounding=ROUND_HALF_EVEN),
        legs=len(legs),
        occurred_at=min(leg.occurred_at for leg in legs),
        block_number=max(block_numbers) if block_numbers else None,
        condition_id=next((leg.condition_id for leg in legs if leg.condition_id), ""),
        raw={"legs": [dict(leg.raw) for leg in legs[:MAX_RAW_LEGS]], "leg_ids": [leg.leg_id for leg in legs]},
    )


def leader_trades_record(
    *,
    observations: Iterable[TradeObservation],
    source: str,
    now: datetime | None = None,
    max_age_seconds: int | None = None,
) -> RecordResult:
    """Insert-or-ignore the aggregated trades of watched leaders; fan out the new fresh ones.

    Trades older than ``max_age_seconds`` (DETECT_MAX_AGE_SECONDS) when detected are recorded
    STALE with reason "stale" and never fanned out: after downtime nothing old is copied.
    Paused leaders' trades are recorded like any other; fan-out decides what to skip.
    """
    detected_at = now or timezone.now()
    max_age = timedelta(seconds=settings.DETECT_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds)
    offset = venue_offset_or_none(where="detection")
    observations = list(observations)
    trades = aggregate_observations(observations)
    empty = len({_key(o) for o in observations}) - len(trades)
    leaders = dict(WatchedWallet.objects.filter(address__in={t.leader for t in trades}).values_list("address", "id"))
    watched = [t for t in trades if t.leader in leaders]
    rows = [
        _row(
            trade,
            leader_id=leaders[trade.leader],
            source=source,
            detected_at=detected_at,
            max_age=max_age,
            offset=offset,
        )
        for trade in watched
    ]
    with transaction.atomic():
        LeaderTrade.objects.bulk_create(rows, ignore_conflicts=True)
        ours = {row.dedupe_key: row.code for row in rows}
        # bulk_create(ignore_conflicts) sets no ids on PostgreSQL nor SQLite: a row is ours when
        # its stored code is the one we generated.
        stored = LeaderTrade.objects.filter(dedupe_key__in=list(ours)).values_list("id", "dedupe_key", "code", "status")
        inserted = {key: (i, status) for i, key, code, status in stored if ours[key] == code}
        new_ids = sorted(i for i, status in inserted.values() if status == LeaderTrade.Status.NEW)
        stale_ids = sorted(i for i, status in inserted.values() if status == LeaderTrade.Status.STALE)
        mine = [row for row in rows if row.dedupe_key in inserted]
        _touch_last_trade(rows=mine)
        # partials, not lambdas: tests read which ids a captured callback would send.
        if new_ids:
            transaction.on_commit(partial(fanout_enqueue, leader_trade_ids=new_ids))
        transaction.on_commit(partial(_observe, rows=mine, source=source))
    return RecordResult(
        new_ids=new_ids,
        stale_ids=stale_ids,
        duplicates=len(watched) - len(inserted),
        unwatched=len(trades) - len(watched),
        empty=empty,
        new_legs=sum(row.legs for row in mine),
    )


def _key(obs: TradeObservation) -> str:
    return dedupe_key(leader=obs.leader, tx_hash=obs.tx_hash, token_id=obs.token_id, side=obs.side)


def _row(
    trade: AggregatedTrade,
    *,
    leader_id: int,
    source: str,
    detected_at: datetime,
    max_age: timedelta,
    offset: timedelta | None,
) -> LeaderTrade:
    # occurred_at is the venue's or the chain's time: aged on the venue's clock. With no trusted
    # venue time the trade is recorded NEW and fan-out or execute judge it (never marked stale blind).
    age = None if offset is None else leader_trade_age(occurred_at=trade.occurred_at, now=detected_at, offset=offset)
    stale = age is not None and age > max_age
    return LeaderTrade(
        code=uuid.uuid4(),
        leader_id=leader_id,
        dedupe_key=trade.key,
        source=source,
        tx_hash=trade.tx_hash,
        token_id=trade.token_id,
        condition_id=trade.condition_id,
        side=trade.side,
        price=trade.price,
        shares=trade.shares,
        usdc=trade.usdc,
        legs=trade.legs,
        block_number=trade.block_number,
        occurred_at=trade.occurred_at,
        detected_at=detected_at,
        status=LeaderTrade.Status.STALE if stale else LeaderTrade.Status.NEW,
        reason="stale" if stale else "",
        raw=trade.raw,
    )


def _touch_last_trade(*, rows: list[LeaderTrade]) -> None:
    newest: dict[int, datetime] = {}
    for row in rows:
        newest[row.leader_id] = max(row.occurred_at, newest.get(row.leader_id, row.occurred_at))
    for leader_id, occurred_at in newest.items():
        # Monotonic: a late (older) trade never moves the staff-visible "last trade" back.
        older = Q(last_trade_at__isnull=True) | Q(last_trade_at__lt=occurred_at)
        WatchedWallet.objects.filter(older, id=leader_id).update(last_trade_at=occurred_at)


def _observe(*, rows: list[LeaderTrade], source: str) -> None:
    for row in rows:
        LEADER_TRADES.labels(source=source, status=row.status).inc()
        # Clock skew (a block stamped ahead of our clock) must not produce negative lags.
        DETECTION_LAG.labels(source=source).observe(max(0.0, (row.detected_at - row.occurred_at).total_seconds()))
