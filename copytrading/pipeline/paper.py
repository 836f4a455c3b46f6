"""Paper custody: the order is filled against the current book, with no keys and no POST.

Everything before this step (sizing, caps, guardrails) is exactly the live path; only the last
step differs, so a paper follow shows what the same settings would have done.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, cast

from django.utils import timezone

from copytrading.models import CopyTrade
from copytrading.pipeline.leases import finish, write_fenced
from copytrading.pipeline.positions import position_apply_fill
from copytrading.pipeline.quoting import Quote
from copytrading.reasons import Reason
from execution.sizing import CopySize
from execution.venue.paper import PaperFill, simulate_fill


def paper_fill(*, row: CopyTrade, size: CopySize, quote: Quote, planned_fee: Decimal) -> PaperFill | None:
    """Fill (and confirm) a paper order inside the caller's transaction; the fill, or None if it
    was killed (or another worker holds the row now)."""
    side = cast(Literal["BUY", "SELL"], row.side)
    fill = simulate_fill(
        book=quote.book,
        side=side,
        limit_price=size.limit_price,
        order_type="FOK" if row.order_type == "FOK" else "FAK",
        fees=quote.market.fees,
        amount=size.amount if side == "BUY" else None,
        shares=size.amount if side == "SELL" else None,
    )
    if fill.killed:
        finish([row], status=CopyTrade.Status.REJECTED, reason=Reason.KILLED, detail="paper: nothing within the limit")
        return None
    now = timezone.now()
    held = write_fenced(
        [row],
        status=CopyTrade.Status.CONFIRMED,
        venue_status="paper",
        planned_price=size.limit_price,
        planned_size=size.amount if side == "SELL" else fill.shares,
        planned_usdc=size.notional_usdc,
        quote_price=quote.best_price,
        planned_fee_usdc=planned_fee,
        size_matched=fill.shares,
        fill_price=fill.avg_price,
        fill_usdc=fill.notional,
        fee_usdc=fill.fee,
        lease_owner="",
        lease_until=None,
        signed_at=now,
        recorded_at=now,
        filled_at=now,
        finished_at=now,
    )
    if not held:
        return None
    position_apply_fill(trade=row, shares=fill.shares, usdc=fill.notional, fee=fill.fee)
    return fill
