"""A follower's copy history: filtering, and the same rows as CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from copytrading.models import CopyRelationship, CopyTrade
from copytrading.summaries import copy_rows, user_copies
from polyhunter.lib.money import exact_units

# Amounts in the venue's exact unit (6 decimals of pUSD or shares), prices as recorded: an export
# is for adding up, so nothing in it is rounded for reading.
CSV_COLUMNS = [
    "created_at",
    "code",
    "leader",
    "market",
    "outcome",
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
    "cash_usdc",
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
    chunk: list[CopyTrade] = []
    for trade in rows.iterator(chunk_size=500):
        chunk.append(trade)
        if len(chunk) == 500:
            yield from _lines(writer, chunk)
            chunk = []
    yield from _lines(writer, chunk)


def _lines(writer: Any, trades: list[CopyTrade]) -> Iterator[str]:
    for row in copy_rows(trades):  # one market-name read per chunk
        trade = row.trade
        yield writer.writerow(
            [
                trade.created_at.isoformat(),
                trade.code,
                trade.relationship.leader.address,
                row.market.title,
                row.market.outcome,
                trade.token_id,
                trade.side,
                trade.status,
                row.words,
                _price(trade.reference_price),
                _price(trade.planned_price),
                _price(trade.fill_price),
                _blank(price_difference_percent(trade)),
                exact_units(trade.size_matched),
                exact_units(trade.fill_usdc),
                exact_units(trade.fee_usdc),
                exact_units(row.cash) if row.cash is not None else "",
                exact_units(trade.planned_usdc),
            ]
        )


def _price(value: Decimal | None) -> str:
    return "" if value is None else f"{Decimal(value).normalize():f}"


def _blank(value: Decimal | None) -> str | Decimal:
    return "" if value is None else value
