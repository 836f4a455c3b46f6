"""Profit and loss over time of a follower's copies, from their fills.

At each fill the running P&L is the cash the fills moved (sells in, buys and fees out) plus the
shares still held, valued at the last price seen for their token; the final point values them at
the position's mark price when one is known. It is a mark-to-last-trade curve: exact at every
fill for the token traded, approximate in between.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from copytrading.models import ArchivedCopyTrade, CopyTrade, Position

ZERO = Decimal(0)


@dataclass(frozen=True)
class Fill:
    at: datetime
    token_id: str
    side: str
    shares: Decimal
    usdc: Decimal
    fee: Decimal
    price: Decimal


@dataclass(frozen=True)
class Point:
    at: datetime
    pnl: Decimal


def pnl_series(fills: list[Fill], *, marks: dict[str, Decimal], now: datetime) -> list[Point]:
    """One point per fill (in time order) and a last one at ``now`` valued at ``marks``."""
    cash = ZERO
    held: dict[str, Decimal] = defaultdict(Decimal)
    last_price: dict[str, Decimal] = {}
    points: list[Point] = []
    for fill in sorted(fills, key=lambda f: f.at):
        sign = 1 if fill.side == CopyTrade.Side.SELL else -1
        cash += sign * fill.usdc - fill.fee
        held[fill.token_id] -= sign * fill.shares
        last_price[fill.token_id] = fill.price
        points.append(Point(fill.at, cash + _value(held, last_price)))
    if points:
        points.append(Point(now, cash + _value(held, last_price | marks)))
    return points


def _value(held: dict[str, Decimal], prices: dict[str, Decimal]) -> Decimal:
    return sum((shares * prices.get(token, ZERO) for token, shares in held.items()), ZERO)


FILL_COLUMNS = ("filled_at", "created_at", "token_id", "side", "size_matched", "fill_usdc", "fee_usdc", "fill_price")
MAX_FILLS = 2000


def pnl_for_accounts(*, account_ids: list[int], now: datetime) -> list[Point]:
    """The P&L curve of these accounts' filled copies, live and archived (the last 2,000 fills)."""
    # A fleet fill counts once settled (SETTLED, or DEBT: the shares are the follower's either way).
    filled = [CopyTrade.Status.FILLED, CopyTrade.Status.CONFIRMED, CopyTrade.Status.SETTLED, CopyTrade.Status.DEBT]
    live = (
        CopyTrade.objects.filter(account_id__in=account_ids, status__in=filled, size_matched__gt=0)
        .order_by("-filled_at", "-id")
        .values_list(*FILL_COLUMNS)[:MAX_FILLS]
    )
    archived = (
        ArchivedCopyTrade.objects.filter(account_id__in=account_ids, status__in=filled, size_matched__gt=0)
        .order_by("-filled_at", "-original_id")
        .values_list(*FILL_COLUMNS)[:MAX_FILLS]
    )
    rows = sorted([*live, *archived], key=lambda row: row[0] or row[1], reverse=True)[:MAX_FILLS]
    fills = [
        Fill(
            at=filled_at or created_at,
            token_id=token,
            side=side,
            shares=shares,
            usdc=usdc,
            fee=fee,
            price=price if price is not None else (usdc / shares),
        )
        for filled_at, created_at, token, side, shares, usdc, fee, price in rows
    ]
    marks = dict(
        Position.objects.filter(account_id__in=account_ids, mark_price__isnull=False)
        .values_list("token_id", "mark_price")
        .distinct()
    )
    return pnl_series(fills, marks=marks, now=now)
