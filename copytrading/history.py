"""A follower's copy history: filtering, and the same rows as CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet

from accounts.models import User
from copytrading.models import CopyRelationship, CopyTrade
from copytrading.summaries import copy_words, user_copies

CSV_COLUMNS = [
    "created_at",
    "code",
    "leader",
    "token_id",
    "side",
    "status",
    "explanation",
    "leader_price",
    "limit_price",
    "fill_price",
    "price_difference_percent",
    "shares_filled",
    "usdc_filled",
    "fee_usdc",
    "planned_usdc",
]


@dataclass(frozen=True)
class HistoryFilter:
    follow: CopyRelationship | None = None
    status: str = ""
    side: str = ""
    since: date | None = None
    until: date | None = None


def history_rows(*, user: User, filters: HistoryFilter) -> QuerySet[CopyTrade]:
    """The user's copy trades, newest first; ``filters.follow`` must already be one of theirs."""
    rows = user_copies(user).order_by("-created_at", "-id")
    if filters.follow is not None:
        rows = rows.filter(relationship=filters.follow)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.side:
        rows = rows.filter(side=filters.side)
    if filters.since:
        rows = rows.filter(created_at__date__gte=filters.since)
    if filters.until:
        rows = rows.filter(created_at__date__lte=filters.until)
    return rows


def price_difference_percent(trade: CopyTrade) -> Decimal | None:
    """How much worse (positive) or better than the leader (or the triggering mark of a stop-loss /
    take-profit) the copy filled, in percent of that reference price."""
    leader = trade.reference_price
    if trade.fill_price is None or not leader:
        return None
    fill = Decimal(trade.fill_price)
    worse = fill - leader if trade.side == CopyTrade.Side.BUY else leader - fill
    return (worse / leader * 100).quantize(Decimal("0.01"))


class _Echo:
    def write(self, value: str) -> str:
        return value


def history_csv(rows: QuerySet[CopyTrade]) -> Iterator[str]:
    """CSV lines of the rows, streamed (a long history is never held in memory at once)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for trade in rows.iterator(chunk_size=500):
        yield writer.writerow(
            [
                trade.created_at.isoformat(),
                trade.code,
                trade.relationship.leader.address,
                trade.token_id,
                trade.side,
                trade.status,
                copy_words(trade),
                trade.reference_price,
                trade.planned_price if trade.planned_price is not None else "",
                trade.fill_price if trade.fill_price is not None else "",
                _blank(price_difference_percent(trade)),
                trade.size_matched,
                trade.fill_usdc,
                trade.fee_usdc,
                _blank(trade.planned_usdc),
            ]
        )


def _blank(value: Decimal | None) -> str | Decimal:
    return "" if value is None else value
