"""Risky follow settings — a proportional ratio above 1, or no daily cap — and their worst case on
the leader's recent trades, which the follower confirms before they are saved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from copytrading.follows import FollowSettings
from copytrading.leaders.backtest import WorstCase, worst_case
from copytrading.leaders.stats import HistoricTrade
from copytrading.models import CopyRelationship, LeaderProfile
from execution.models import GuardrailSettings

WORST_CASE_DAYS = 7


@dataclass(frozen=True)
class Risk:
    reasons: list[str]
    worst: WorstCase | None  # None: no recent trades of this leader are known yet
    ratio: Decimal | None
    max_order_usdc: Decimal
    max_daily_usdc_per_account: Decimal


def follow_risks(settings: FollowSettings) -> list[str]:
    """What makes these settings risky, in plain words (empty: nothing to confirm)."""
    reasons = []
    if settings.sizing_mode == CopyRelationship.SizingMode.PROPORTIONAL and settings.sizing_value > 1:
        reasons.append(f"a ratio of {settings.sizing_value.normalize():f} copies more than the leader's own size")
    if settings.daily_cap_usdc is None:
        reasons.append("no daily cap: nothing limits what this follow spends in a day but the platform's limits")
    return reasons


def follow_risk(*, settings: FollowSettings, leader_address: str, now: datetime | None = None) -> Risk | None:
    """The risk of these settings and their worst case on the leader's last 7 days, or None."""
    reasons = follow_risks(settings)
    if not reasons:
        return None
    profile = LeaderProfile.objects.filter(leader__address=leader_address.lower()).first()
    worst = None
    if profile is not None and profile.trades:
        trades = [HistoricTrade.from_json(t) for t in profile.trades]
        worst = worst_case(trades=trades, settings=settings, days=WORST_CASE_DAYS, now=now or timezone.now())
    limits = GuardrailSettings.current()
    proportional = settings.sizing_mode == CopyRelationship.SizingMode.PROPORTIONAL
    return Risk(
        reasons=reasons,
        worst=worst if worst is not None and worst.trades else None,
        ratio=settings.sizing_value if proportional else None,
        max_order_usdc=Decimal(limits.max_order_usdc),
        max_daily_usdc_per_account=Decimal(limits.max_daily_usdc_per_account),
    )
