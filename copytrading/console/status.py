"""What the console shows: the gate's inputs as the gate reads them, and the routing table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.detection.budget import DATA_API_TRADES_LIMIT, DATA_API_TRADES_WINDOW_SECONDS
from copytrading.detection.data_api import polled_leaders
from copytrading.models import CopyRelationship, CopyTrade, Deployment, WatchedWallet, live_follows
from execution.guardrails.breaker import breaker_is_open
from execution.models import GuardrailSettings, TradingSwitch, VenueHealth
from execution.switches import SwitchState, switch_states

# Heartbeats older than this mean the deployment's workers are probably not running.
HEARTBEAT_STALE = timedelta(minutes=2)
# Counts shown on the console stop here: they are a signal, not a census of a huge table.
COUNT_CAP = 1000

GATE_WORDS = {
    TradingSwitch.Name.KILL_SWITCH: ("every new order is refused (exits too)", "orders are allowed"),
    TradingSwitch.Name.PAUSE_COPIES: ("new copies are refused; exits still run", "copies are allowed"),
    TradingSwitch.Name.EXITS_ONLY: ("only exits are placed", "copies and exits are allowed"),
}


@dataclass(frozen=True)
class SwitchView:
    state: SwitchState
    label: str
    gate_now: str


@dataclass(frozen=True)
class DeploymentView:
    deployment: Deployment
    follows: int
    heartbeat_age: timedelta | None
    stale: bool


@dataclass(frozen=True)
class PollingBudget:
    """The Data API budget every process shares, as the polls use it now."""

    leaders: int  # with a live follow: each is polled
    every_seconds: Decimal  # DETECT_POLL_SECONDS
    limit: int  # requests per window, all processes together
    window_seconds: int
    polls_last_window: int  # polls that ended in the last window (each one request or more)

    @property
    def wanted(self) -> int:
        """Requests per window the polls want at one page each: leaders x window / interval."""
        return math.ceil(self.leaders * self.window_seconds / self.every_seconds)

    @property
    def percent(self) -> int:
        return round(self.wanted * 100 / self.limit)

    @property
    def over(self) -> bool:
        return self.wanted > self.limit

    @property
    def every_actual_seconds(self) -> Decimal:
        """How often each leader is really polled once the budget is the bound."""
        return max(self.every_seconds, Decimal(self.leaders * self.window_seconds) / self.limit)


@dataclass(frozen=True)
class ConsoleStatus:
    switches: list[SwitchView]
    venue: VenueHealth | None
    breaker_open: bool
    guardrails: GuardrailSettings
    deployments: list[DeploymentView]
    shared_follows: int
    paused_leaders: int
    paused_accounts: int
    held_follows: int
    stuck: int
    unknown: int
    polling: PollingBudget


def switch_views() -> list[SwitchView]:
    """Each switch as execution.switches.switch_state returns it: what the gate obeys right now."""
    labels = dict(TradingSwitch.Name.choices)
    views = []
    for name, state in switch_states().items():
        on, off = GATE_WORDS[TradingSwitch.Name(name)]
        views.append(SwitchView(state=state, label=labels[name], gate_now=on if state.engaged else off))
    return views


def _bounded(rows: QuerySet[CopyTrade]) -> int:
    # COUNT over a LIMIT subquery: bounded work however large the table grows.
    return rows[:COUNT_CAP].count()


def console_status(*, now: datetime | None = None) -> ConsoleStatus:
    now = now or timezone.now()
    guardrails = GuardrailSettings.current()
    deployments = Deployment.objects.annotate(follows=Count("relationships", filter=live_follows("relationships__")))
    active_follows = CopyRelationship.objects.filter(live_follows())
    return ConsoleStatus(
        switches=switch_views(),
        venue=VenueHealth.objects.filter(id=VenueHealth.SINGLETON_ID).first(),
        breaker_open=breaker_is_open(
            window_seconds=guardrails.breaker_window_seconds,
            min_orders=guardrails.breaker_min_orders,
            ratio=Decimal(guardrails.breaker_unknown_ratio),
        ),
        guardrails=guardrails,
        deployments=[
            DeploymentView(
                deployment=d,
                follows=d.follows,
                heartbeat_age=now - d.heartbeat_at if d.heartbeat_at else None,
                stale=d.heartbeat_at is None or now - d.heartbeat_at > HEARTBEAT_STALE,
            )
            for d in deployments.order_by("key")
        ],
        shared_follows=active_follows.filter(deployment__isnull=True).count(),
        paused_leaders=WatchedWallet.objects.filter(paused=True).count(),
        paused_accounts=TradingAccount.objects.filter(paused=True).count(),
        held_follows=CopyRelationship.objects.exclude(staff_hold=CopyRelationship.StaffHold.NONE).count(),
        stuck=_bounded(stuck_copy_trades(now=now)),
        unknown=_bounded(CopyTrade.objects.filter(status=CopyTrade.Status.UNKNOWN)),
        polling=polling_budget(now=now),
    )


def polling_budget(*, now: datetime) -> PollingBudget:
    window = DATA_API_TRADES_WINDOW_SECONDS
    return PollingBudget(
        leaders=polled_leaders().count(),
        every_seconds=Decimal(settings.DETECT_POLL_SECONDS),
        limit=DATA_API_TRADES_LIMIT,
        window_seconds=window,
        polls_last_window=WatchedWallet.objects.filter(data_api_polled_at__gte=now - timedelta(seconds=window)).count(),
    )


def stuck_copy_trades(*, now: datetime | None = None) -> QuerySet[CopyTrade]:
    """Non-terminal copy trades past their deadline (served by the partial index copytrade_open_idx)."""
    return CopyTrade.objects.exclude(status__in=CopyTrade.TERMINAL).filter(deadline_at__lt=now or timezone.now())
