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
    follow, limits = row.relationship, context.limits
    market_exposure, market_cap = _binding_market_cap(exposure, row, limits)
    return GateInputs(
        lane=row.lane,
        kill_switch=TradingSwitch.Name.KILL_SWITCH in context.switches,
        pause_copies=TradingSwitch.Name.PAUSE_COPIES in context.switches,
        exits_only=TradingSwitch.Name.EXITS_ONLY in context.switches,
        # A protective exit (stop-loss / take-profit) belongs to no leader: a leader pause does not hold it.
        leader_paused=row.leader_trade is not None and row.leader_trade.leader.paused,
        follow_paused=follow.status != follow.Status.ACTIVE,
        account_paused=row.account.paused,
        notional_usdc=notional,
        max_order_usdc=Decimal(limits.max_order_usdc),
        market_exposure_usdc=market_exposure,
        market_cap_usdc=market_cap,
        follow_spent_today_usdc=exposure.follow_today[row.relationship_id] if exposure else ZERO,
        follow_daily_cap_usdc=follow.daily_cap_usdc if exposure is not None else None,
        account_spent_today_usdc=exposure.account_today[row.account_id] if exposure else ZERO,
        account_daily_cap_usdc=Decimal(limits.max_daily_usdc_per_account) if exposure is not None else Decimal(10**18),
        breaker_open=context.breaker_open,
        fee_usdc=fee,
    )


def _binding_market_cap(
    exposure: Exposure | None, row: CopyTrade, limits: GuardrailSettings
) -> tuple[Decimal, Decimal | None]:
    """(exposure, cap) of whichever per-market limit leaves the least room: the follow's own
    cap on what it holds in this market, or the platform cap on the whole account."""
    if exposure is None:
        return ZERO, None
    options = [(exposure.account_market[(row.account_id, row.token_id)], Decimal(limits.max_market_position_usdc))]
    follow_cap = row.relationship.max_position_usdc_per_market
    if follow_cap is not None:
        options.append((exposure.follow_market[(row.relationship_id, row.token_id)], Decimal(follow_cap)))
    return min(options, key=lambda option: option[1] - option[0])
