"""Inputs of the execution gate, read fresh for every batch (nothing cached across batches):
what staff see on the console is exactly what the next order obeys."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from copytrading.models import CopyTrade
from copytrading.pipeline.exposure import Exposure
from execution.guardrails import GateInputs
from execution.guardrails.breaker import breaker_is_open
from execution.models import GuardrailSettings, TradingSwitch
from execution.switches import engaged_switches

ZERO = Decimal(0)


@dataclass(frozen=True)
class GateContext:
    switches: frozenset[str]
    limits: GuardrailSettings
    breaker_open: bool


def gate_context() -> GateContext:
    engaged = engaged_switches()
    limits = GuardrailSettings.current()
    breaker = breaker_is_open(
        window_seconds=limits.breaker_window_seconds,
        min_orders=limits.breaker_min_orders,
        ratio=Decimal(limits.breaker_unknown_ratio),
    )
    return GateContext(switches=engaged, limits=limits, breaker_open=breaker)


def gate_inputs(
    *, row: CopyTrade, context: GateContext, notional: Decimal, exposure: Exposure | None, fee: Decimal = ZERO
) -> GateInputs:
    """Gate inputs for one row; without ``exposure`` the caps are not evaluated yet (pre-gate).
    ``fee``: the most taker fee the order can pay, counted by the caps."""
    follow = row.relationship
    return follow_gate_inputs(
        lane=row.lane,
        switches=context.switches,
        limits=context.limits,
        breaker_open=context.breaker_open,
        # A protective exit (stop-loss / take-profit) belongs to no leader: a leader pause does not hold it.
        leader_paused=row.leader_trade is not None and row.leader_trade.leader.paused,
        account_paused=row.account.paused,
        follow_held=follow.staff_hold != follow.StaffHold.NONE,
        follow_paused=follow.status != follow.Status.ACTIVE,
        notional=notional,
        fee=fee,
        follow_id=row.relationship_id,
        account_id=row.account_id,
        token_id=row.token_id,
        follow_daily_cap=follow.daily_cap_usdc,
        follow_market_cap=follow.max_position_usdc_per_market,
        exposure=exposure,
    )


def follow_gate_inputs(
    *,
    lane: str,
    switches: frozenset[str],
    limits: GuardrailSettings,
    breaker_open: bool,
    leader_paused: bool,
    follow_paused: bool,
    account_paused: bool,
    notional: Decimal,
    follow_id: int,
    account_id: int,
    token_id: str,
    follow_daily_cap: Decimal | None,
    follow_market_cap: Decimal | None,
    exposure: Exposure | None,
    follow_held: bool = False,
    fee: Decimal = ZERO,
) -> GateInputs:
    """The gate's inputs from plain values: the pipeline's rows and "what copying would have made"
    (copytrading.leaders.backtest) both build them here, so both are judged by the same rules."""
    market_exposure, market_cap = _binding_market_cap(
        exposure,
        follow_id=follow_id,
        account_id=account_id,
        token_id=token_id,
        limits=limits,
        follow_cap=follow_market_cap,
    )
    return GateInputs(
        lane=lane,
        kill_switch=TradingSwitch.Name.KILL_SWITCH in switches,
        pause_copies=TradingSwitch.Name.PAUSE_COPIES in switches,
        exits_only=TradingSwitch.Name.EXITS_ONLY in switches,
        leader_paused=leader_paused,
        account_paused=account_paused,
        follow_held=follow_held,
        follow_paused=follow_paused,
        notional_usdc=notional,
        max_order_usdc=Decimal(limits.max_order_usdc),
        market_exposure_usdc=market_exposure,
        market_cap_usdc=market_cap,
        follow_spent_today_usdc=exposure.follow_today[follow_id] if exposure else ZERO,
        follow_daily_cap_usdc=follow_daily_cap if exposure is not None else None,
        account_spent_today_usdc=exposure.account_today[account_id] if exposure else ZERO,
        account_daily_cap_usdc=Decimal(limits.max_daily_usdc_per_account) if exposure is not None else Decimal(10**18),
        breaker_open=breaker_open,
        fee_usdc=fee,
    )


def _binding_market_cap(
    exposure: Exposure | None,
    *,
    follow_id: int,
    account_id: int,
    token_id: str,
    limits: GuardrailSettings,
    follow_cap: Decimal | None,
) -> tuple[Decimal, Decimal | None]:
    """(exposure, cap) of whichever per-market limit leaves the least room: the follow's own
    cap on what it holds in this market, or the platform cap on the whole account."""
    if exposure is None:
        return ZERO, None
    options = [(exposure.account_market[(account_id, token_id)], Decimal(limits.max_market_position_usdc))]
    if follow_cap is not None:
        options.append((exposure.follow_market[(follow_id, token_id)], Decimal(follow_cap)))
    return min(options, key=lambda option: option[1] - option[0])
