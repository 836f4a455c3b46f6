"""What a follower's pages show, read the way the pipeline reads it.

A follow's state is its *effective* state: the same switches and pauses the execution gate
obeys (execution.switches.switch_state, leader/account/follow flags and staff holds, custody),
checked by the gate's own hold checks, so a page never says "copying" while something stops
the copies. Today's spend is computed by the function the caps use, counting orders whose
outcome is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import TradingAccount, User
from copytrading.markets import MarketName, market_names
from copytrading.models import CopyRelationship, CopyTrade, Position
from copytrading.outcomes import follower_words
from copytrading.pipeline.exposure import exposure_for
from copytrading.pnl import Point, pnl_for_accounts
from copytrading.reasons import Reason
from execution.custody import custody_ready
from execution.guardrails import Holds, hold_verdict
from execution.models import DebtRecord, GuardrailSettings, TradingSwitch
from execution.session_custody import SessionStatus, session_status
from execution.switches import SwitchState, switch_states

ZERO = Decimal(0)


@dataclass(frozen=True)
class FollowState:
    copying: bool
    label: str
    why: str


def follow_state(*, relationship: CopyRelationship, switches: dict[str, SwitchState]) -> FollowState:
    """Whether a new leader BUY would be copied right now, and if not, the first reason: the
    gate's own hold checks (execution.guardrails.hold_verdict), then custody."""
    follow = relationship
    if follow.effective_status == CopyRelationship.Status.STOPPED:
        if follow.staff_hold == CopyRelationship.StaffHold.STOPPED:
            return FollowState(False, "stopped by staff", "staff stopped this follow; only staff can restart it")
        return FollowState(False, "stopped", "you stopped this follow")
    verdict = hold_verdict(
        Holds(
            lane=CopyTrade.Lane.COPY,
            kill_switch=switches[TradingSwitch.Name.KILL_SWITCH].engaged,
            pause_copies=switches[TradingSwitch.Name.PAUSE_COPIES].engaged,
            exits_only=switches[TradingSwitch.Name.EXITS_ONLY].engaged,
            leader_paused=follow.leader.paused,
            account_paused=follow.account.paused,
            follow_held=follow.staff_hold != CopyRelationship.StaffHold.NONE,
            follow_paused=follow.status != CopyRelationship.Status.ACTIVE,
        )
    )
    if not verdict.allowed:
        return FollowState(False, _LABELS.get(verdict.reason, "not copying"), Reason(verdict.reason).label)
    if not custody_ready(follow.account):
        return FollowState(False, "not copying", Reason.CUSTODY_NOT_READY.label)
    return FollowState(True, "copying", "new leader trades are copied")


_LABELS: dict[str, str] = {Reason.FOLLOW_PAUSED: "paused", Reason.FOLLOW_HELD: "paused by staff"}


@dataclass(frozen=True)
class CopyRow:
    """A copy as a follower's pages show it: its market by name and what happened in plain words."""

    trade: CopyTrade
    market: MarketName
    words: str

    @property
    def tick(self) -> Decimal | None:
        return self.market.tick

    @property
    def cash(self) -> Decimal | None:
        """pUSD out (a BUY: fill plus fee, negative) or in (a SELL: fill minus fee); None unfilled."""
        trade = self.trade
        if not trade.size_matched:
            return None
        fill, fee = Decimal(trade.fill_usdc), Decimal(trade.fee_usdc)
        return -(fill + fee) if trade.side == CopyTrade.Side.BUY else fill - fee

    @property
    def worse_by_percent(self) -> Decimal | None:
        """How much worse (positive) or better (negative) than the leader's price it filled."""
        trade = self.trade
        leader = trade.reference_price
        if trade.fill_price is None or not leader:
            return None
        fill = Decimal(trade.fill_price)
        worse = fill - leader if trade.side == CopyTrade.Side.BUY else leader - fill
        return worse / leader * 100


def copy_rows(trades: list[CopyTrade]) -> list[CopyRow]:
    names = market_names(trade.token_id for trade in trades)
    return [CopyRow(trade, names[trade.token_id], follower_words(trade)) for trade in trades]


@dataclass(frozen=True)
class PositionRow:
    position: Position
    market: MarketName

    @property
    def average_price(self) -> Decimal | None:
        """What each share cost, fees included (the position's cost includes them)."""
        return self.position.average_price


@dataclass(frozen=True)
class FollowRow:
    relationship: CopyRelationship
    state: FollowState
    spent_today: Decimal


@dataclass(frozen=True)
class AccountSpend:
    account: TradingAccount
    spent_today: Decimal
    cap: Decimal

    @property
    def percent(self) -> int:
        return min(100, int(self.spent_today * 100 / self.cap)) if self.cap else 0


@dataclass(frozen=True)
class Dashboard:
    follows: list[FollowRow]
    spend: list[AccountSpend]
    positions: list[PositionRow]
    recent: list[CopyRow]
    pnl: list[Point]
    has_account: bool


def user_follows(user: User) -> QuerySet[CopyRelationship]:
    return (
        CopyRelationship.objects.filter(account__user=user)
        .select_related("account", "leader", "deployment")
        .order_by("status", "-created_at")
    )


def user_copies(user: User) -> QuerySet[CopyTrade]:
    return CopyTrade.objects.filter(account__user=user).select_related(
        "relationship__leader", "leader_trade", "account"
    )


def follow_rows(user: User, *, now: datetime | None = None) -> tuple[list[FollowRow], list[AccountSpend]]:
    now = now or timezone.now()
    accounts = list(TradingAccount.objects.filter(user=user).order_by("id"))
    exposure = exposure_for(account_ids=[a.id for a in accounts], token_ids=[], now=now)
    switches = switch_states()
    rows = [
        FollowRow(f, follow_state(relationship=f, switches=switches), exposure.follow_today.get(f.id, ZERO))
        for f in user_follows(user)
    ]
    cap = Decimal(GuardrailSettings.current().max_daily_usdc_per_account)
    spend = [AccountSpend(a, exposure.account_today.get(a.id, ZERO), cap) for a in accounts]
    return rows, spend


def recent_copies(user: User, *, limit: int = 15) -> list[CopyRow]:
    return copy_rows(list(user_copies(user)[:limit]))


def dashboard_for(user: User) -> Dashboard:
    now = timezone.now()
    follows, spend = follow_rows(user, now=now)
    account_ids = [s.account.id for s in spend]
    held = list(
        Position.objects.filter(account__user=user, shares__gt=0)
        .select_related("relationship__leader", "account")
        .order_by("-updated_at")[:50]
    )
    names = market_names(p.token_id for p in held)
    positions = [PositionRow(p, names[p.token_id]) for p in held]
    return Dashboard(
        follows=follows,
        spend=spend,
        positions=positions,
        recent=recent_copies(user),
        pnl=pnl_for_accounts(account_ids=account_ids, now=now),
        has_account=bool(spend),
    )


def session_alerts(user: User) -> list[tuple[TradingAccount, SessionStatus]]:
    """Session accounts whose authorisation needs the follower: waiting, ending soon, ended or refused."""
    alerts = []
    for account in TradingAccount.objects.filter(user=user, mode=TradingAccount.Mode.SESSION).order_by("id"):
        status = session_status(account)
        if status is not None and status.state != "active":
            alerts.append((account, status))
    return alerts


@dataclass(frozen=True)
class DebtAlert:
    account: TradingAccount
    owed: Decimal
    copies: int
    causes: list[str]


def debt_alerts(user: User) -> list[DebtAlert]:
    """Fleet accounts that owe the platform: how much, for how many copies, and why (plain words)."""
    alerts = []
    open_debts = DebtRecord.objects.filter(account__user=user, state=DebtRecord.State.OPEN).select_related("account")
    by_account: dict[int, list[DebtRecord]] = {}
    for debt in open_debts.order_by("account_id", "created_at"):
        by_account.setdefault(debt.account_id, []).append(debt)
    for debts in by_account.values():
        causes = sorted({str(debt.get_cause_display()) for debt in debts})
        owed = sum((debt.amount_usdc for debt in debts), Decimal(0))
        alerts.append(DebtAlert(account=debts[0].account, owed=owed, copies=len(debts), causes=causes))
    return alerts
