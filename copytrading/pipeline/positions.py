"""Positions change only on confirmed fills, attributed to the follow that traded."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F

from copytrading.models import CopyTrade, Position

ZERO = Decimal(0)


def position_apply_fill(*, trade: CopyTrade, shares: Decimal, usdc: Decimal, fee: Decimal) -> Position:
    """Apply one confirmed fill (average cost; realised P&L on sells). Call inside a transaction."""
    position, _ = Position.objects.select_for_update().get_or_create(
        relationship_id=trade.relationship_id,
        token_id=trade.token_id,
        defaults={"account_id": trade.account_id},
    )
    after = holding_after_fill(
        side=trade.side,
        held=Decimal(position.shares),
        cost=Decimal(position.cost_usdc),
        shares=shares,
        usdc=usdc,
        fee=fee,
    )
    position.shares, position.cost_usdc = after.shares, after.cost
    if trade.side != CopyTrade.Side.BUY:
        Position.objects.filter(id=position.id).update(realized_pnl_usdc=F("realized_pnl_usdc") + after.realized)
        position.refresh_from_db(fields=["realized_pnl_usdc"])
    position.save(update_fields=["shares", "cost_usdc", "updated_at"])
    return position


@dataclass(frozen=True)
class Holding:
    shares: Decimal
    cost: Decimal  # pUSD paid for the shares held, fees included
    realized: Decimal  # P&L this fill realised (sells only)


def holding_after_fill(
    *, side: str, held: Decimal, cost: Decimal, shares: Decimal, usdc: Decimal, fee: Decimal
) -> Holding:
    """A position after one fill, at average cost: a buy adds its pUSD and fee to the cost; a sell
    releases the cost of the shares sold and realises what it fetched (minus its fee) above that."""
    if side == CopyTrade.Side.BUY:
        return Holding(shares=held + shares, cost=cost + usdc + fee, realized=ZERO)
    sold = min(shares, held)
    released = (cost * sold / held).quantize(Decimal("0.000001")) if held else ZERO
    return Holding(shares=held - sold, cost=cost - released, realized=usdc - fee - released)
