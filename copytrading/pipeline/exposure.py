"""What each account and follow has committed, for the caps (invariant I2).

An order counts from the moment it is signed: SIGNED, UNKNOWN, DELAYED and LIVE rows count at
their full planned notional (their outcome is not known, so it is assumed spent), filled rows at
what they actually cost. Only BUY copies spend; exits never count against a cap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Sum, Value, When
from django.db.models.functions import Coalesce

from copytrading.models import CopyTrade, Position

ZERO = Decimal(0)
_OPEN = [CopyTrade.Status.SIGNED, CopyTrade.Status.UNKNOWN, CopyTrade.Status.DELAYED, CopyTrade.Status.LIVE]
_FILLED = [CopyTrade.Status.FILLED, CopyTrade.Status.CONFIRMED]


@dataclass
class Exposure:
    """Committed pUSD, updated in memory as a batch signs more orders."""

    follow_today: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    account_today: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    follow_market: dict[tuple[int, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    account_market: dict[tuple[int, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, *, follow_id: int, account_id: int, token_id: str, usdc: Decimal) -> None:
        self.follow_today[follow_id] += usdc
        self.account_today[account_id] += usdc
        self.follow_market[(follow_id, token_id)] += usdc
        self.account_market[(account_id, token_id)] += usdc


def _committed() -> Case:
    return Case(
        When(status__in=_FILLED, then=F("fill_usdc") + F("fee_usdc")),
        default=Coalesce(F("planned_usdc"), Value(ZERO)),
        output_field=DecimalField(max_digits=24, decimal_places=6),
    )


def exposure_for(*, account_ids: list[int], token_ids: list[str], now: datetime) -> Exposure:
    """Today's spend per follow/account, and per-market exposure for the given tokens.

    Market exposure = confirmed positions at cost + orders signed but not yet confirmed.
    Runs inside the caller's transaction, after the accounts were locked.
    """
    exposure = Exposure()
    day_start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    today = (
        CopyTrade.objects.filter(
            account_id__in=account_ids,
            side=CopyTrade.Side.BUY,
            created_at__gte=day_start,
            status__in=[*_OPEN, *_FILLED],
        )
        .values("relationship_id", "account_id")
        .annotate(total=Sum(_committed()))
    )
    for row in today:
        exposure.follow_today[row["relationship_id"]] += row["total"] or ZERO
        exposure.account_today[row["account_id"]] += row["total"] or ZERO
    unsettled = (
        CopyTrade.objects.filter(
            account_id__in=account_ids,
            token_id__in=token_ids,
            side=CopyTrade.Side.BUY,
            status__in=[*_OPEN, CopyTrade.Status.FILLED],
        )
        .values("relationship_id", "account_id", "token_id")
        .annotate(total=Sum(_committed()))
    )
    held = (
        Position.objects.filter(account_id__in=account_ids, token_id__in=token_ids)
        .values("relationship_id", "account_id", "token_id")
        .annotate(total=Sum("cost_usdc"))
    )
    for row in [*unsettled, *held]:
        exposure.follow_market[(row["relationship_id"], row["token_id"])] += row["total"] or ZERO
        exposure.account_market[(row["account_id"], row["token_id"])] += row["total"] or ZERO
    return exposure
