"""Pre-trade guardrails: small checks over plain inputs, run in a fixed order.

Each check returns a Verdict; the first refusal wins and its reason is stored on the copy
trade, so staff can filter "blocked by X" and followers read why. Exposure inputs count
orders whose outcome is unknown as spent (invariant I2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    detail: str = ""


ALLOW = Verdict(True)


@dataclass(frozen=True)
class GateInputs:
    lane: str  # "exit" or "copy"
    kill_switch: bool
    pause_copies: bool
    exits_only: bool
    leader_paused: bool
    follow_paused: bool
    account_paused: bool
    notional_usdc: Decimal
    max_order_usdc: Decimal
    market_exposure_usdc: Decimal
    market_cap_usdc: Decimal | None
    follow_spent_today_usdc: Decimal
    follow_daily_cap_usdc: Decimal | None
    account_spent_today_usdc: Decimal
    account_daily_cap_usdc: Decimal
    breaker_open: bool
    # The most taker fee the order can pay: a cap is what the follower pays, so the caps count it
    # (the per-order maximum is on the notional, which is what sizing clamps).
    fee_usdc: Decimal = Decimal(0)


def _kill_switch(g: GateInputs) -> Verdict:
    return Verdict(False, "kill_switch") if g.kill_switch else ALLOW


def _pauses(g: GateInputs) -> Verdict:
    if g.pause_copies and g.lane == "copy":
        return Verdict(False, "global_pause")
    if g.leader_paused:
        return Verdict(False, "leader_paused")
    if g.account_paused:
        return Verdict(False, "account_paused")
    return Verdict(False, "follow_paused") if g.follow_paused else ALLOW


def _exits_only(g: GateInputs) -> Verdict:
    return Verdict(False, "exits_only") if g.exits_only and g.lane == "copy" else ALLOW


def _max_order(g: GateInputs) -> Verdict:
    if g.notional_usdc > g.max_order_usdc:
        return Verdict(False, "max_order_notional", f"${g.notional_usdc} > ${g.max_order_usdc}")
    return ALLOW


def _market_cap(g: GateInputs) -> Verdict:
    # Exits reduce exposure: caps never stop a follower from getting out.
    if g.lane == "exit" or g.market_cap_usdc is None:
        return ALLOW
    after = g.market_exposure_usdc + g.notional_usdc + g.fee_usdc
    if after > g.market_cap_usdc:
        return Verdict(False, "market_position_cap", f"${after} would exceed ${g.market_cap_usdc} in this market")
    return ALLOW


def _daily_cap(g: GateInputs) -> Verdict:
    if g.lane == "exit":
        return ALLOW
    cost = g.notional_usdc + g.fee_usdc
    this = f"; this order ${g.notional_usdc} + up to ${g.fee_usdc} fee" if g.fee_usdc else ""
    if g.follow_daily_cap_usdc is not None and g.follow_spent_today_usdc + cost > g.follow_daily_cap_usdc:
        spent = g.follow_spent_today_usdc
        return Verdict(False, "daily_cap", f"${spent} of ${g.follow_daily_cap_usdc} already committed today{this}")
    if g.account_spent_today_usdc + cost > g.account_daily_cap_usdc:
        spent = g.account_spent_today_usdc
        return Verdict(False, "daily_cap", f"account: ${spent} of ${g.account_daily_cap_usdc} committed today{this}")
    return ALLOW


def _breaker(g: GateInputs) -> Verdict:
    return Verdict(False, "breaker_open") if g.breaker_open else ALLOW


CHECKS: tuple[Callable[[GateInputs], Verdict], ...] = (
    _kill_switch,
    _pauses,
    _exits_only,
    _max_order,
    _market_cap,
    _daily_cap,
    _breaker,
)


def evaluate(inputs: GateInputs) -> Verdict:
    """Run every check in order; the first refusal is the verdict."""
    for check in CHECKS:
        verdict = check(inputs)
        if not verdict.allowed:
            return verdict
    return ALLOW
