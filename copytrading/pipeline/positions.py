"""Positions change only on confirmed fills, attributed to the follow that traded."""

from __future__ import annotations

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
    held, cost = Decimal(position.shares), Decimal(position.cost_usdc)
    if trade.side == CopyTrade.Side.BUY:
        position.shares = held + shares
        position.cost_usdc = cost + usdc + fee
    else:
        sold = min(shares, held)
        released = (cost * sold / held).quantize(Decimal("0.000001")) if held else ZERO
        position.shares = held - sold
        position.cost_usdc = cost - released
        Position.objects.filter(id=position.id).update(
            realized_pnl_usdc=F("realized_pnl_usdc") + (usdc - fee - released)
        )
        position.refresh_from_db(fields=["realized_pnl_usdc"])
    position.save(update_fields=["shares", "cost_usdc", "updated_at"])
    return position
