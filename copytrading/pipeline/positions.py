"""Positions change only on confirmed fills, attributed to the follow that traded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from copytrading.models import CopyTrade, Position

ZERO = Decimal(0)


@dataclass(frozen=True)
class Fill:
    """One confirmed fill of a copy: shares, pUSD moved and the taker fee charged."""

    trade: CopyTrade
    shares: Decimal
    usdc: Decimal
    fee: Decimal


def position_apply_fill(*, trade: CopyTrade, shares: Decimal, usdc: Decimal, fee: Decimal) -> Position:
    """Apply one confirmed fill (average cost; realised P&L on sells). Call inside a transaction."""
    return positions_apply_fills([Fill(trade=trade, shares=shares, usdc=usdc, fee=fee)])[0]


def positions_apply_fills(fills: Sequence[Fill]) -> list[Position]:
    """Apply confirmed fills in order, with three statements for the whole batch: create the
    missing positions, lock them all (in one order: two batches never deadlock), write them back.
    Returns each fill's position (as it stands after the whole batch). Call inside a transaction."""
    if not fills:
        return []
    keys = sorted({(fill.trade.relationship_id, fill.trade.token_id) for fill in fills})
    accounts = {(fill.trade.relationship_id, fill.trade.token_id): fill.trade.account_id for fill in fills}
    missing = [
        Position(relationship_id=follow, token_id=token, account_id=accounts[(follow, token)]) for follow, token in keys
    ]
    Position.objects.bulk_create(missing, ignore_conflicts=True)
    locked = (
        Position.objects.select_for_update()
        .filter(relationship_id__in={follow for follow, _ in keys}, token_id__in={token for _, token in keys})
        .order_by("relationship_id", "token_id")
    )
    positions = {(p.relationship_id, p.token_id): p for p in locked if (p.relationship_id, p.token_id) in accounts}
    after = [_apply(positions[(fill.trade.relationship_id, fill.trade.token_id)], fill) for fill in fills]
    now = timezone.now()
    for position in positions.values():
        position.updated_at = now
    Position.objects.bulk_update(list(positions.values()), ["shares", "cost_usdc", "realized_pnl_usdc", "updated_at"])
    return after


def _apply(position: Position, fill: Fill) -> Position:
    held, cost = Decimal(position.shares), Decimal(position.cost_usdc)
    if fill.trade.side == CopyTrade.Side.BUY:
        position.shares = held + fill.shares
        position.cost_usdc = cost + fill.usdc + fill.fee
    else:
        sold = min(fill.shares, held)
        released = (cost * sold / held).quantize(Decimal("0.000001")) if held else ZERO
        position.shares = held - sold
        position.cost_usdc = cost - released
        position.realized_pnl_usdc = Decimal(position.realized_pnl_usdc) + (fill.usdc - fill.fee - released)
    return position
