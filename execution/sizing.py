"""Sizing and price protection of a copy order, from plain Decimal inputs.

BUY orders are protected market orders sized in pUSD to spend with a worst (maximum) price;
SELL orders are sized in shares with a worst (minimum) price. Amounts are rounded the way the
venue rounds them (pUSD to cents, shares to 2 decimals, prices onto the tick grid) so what we
check is exactly what will be signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from polyhunter.lib.money import round_down

BPS = Decimal(10_000)
CENT = Decimal("0.01")
# Marketable orders under $1 notional are refused by the CLOB.
MIN_MARKETABLE_USDC = Decimal(1)


@dataclass(frozen=True)
class Skip:
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class CopySize:
    """What to sign: BUY ``amount`` is pUSD to spend, SELL ``amount`` is shares to sell."""

    side: str
    amount: Decimal
    limit_price: Decimal
    notional_usdc: Decimal


def target_usdc(
    *, mode: str, value: Decimal, leader_usdc: Decimal, min_usdc: Decimal | None, max_usdc: Decimal | None
) -> Decimal:
    """pUSD a BUY copy should spend before price protection (fixed, or a ratio of the leader)."""
    amount = value if mode == "fixed_usdc" else leader_usdc * value
    if max_usdc is not None:
        amount = min(amount, max_usdc)
    if min_usdc is not None and amount < min_usdc:
        # A follower's minimum is a floor on what is worth copying, not a reason to buy more
        # than the leader's size implies: below it, the copy is skipped.
        return Decimal(0)
    return round_down(amount, 2)


def sell_shares(*, holding: Decimal, leader_sold: Decimal, leader_bought: Decimal) -> Decimal:
    """Shares to sell: the same fraction of what this follow holds as the leader sold of its buys."""
    if holding <= 0:
        return Decimal(0)
    if leader_bought <= 0 or leader_sold >= leader_bought:
        return round_down(holding, 2)
    return round_down(holding * leader_sold / leader_bought, 2)


def worst_price(*, side: str, leader_price: Decimal, slippage_bps: int, tick: Decimal) -> Decimal:
    """The protective limit, on the tick grid, never outside [tick, 1 - tick]."""
    if side == "BUY":
        raw = leader_price * (1 + Decimal(slippage_bps) / BPS)
        price = (raw / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
    else:
        raw = leader_price * (1 - Decimal(slippage_bps) / BPS)
        price = (raw / tick).to_integral_value(rounding=ROUND_CEILING) * tick
    return min(max(price, tick), 1 - tick).quantize(tick)


def protect(
    *, side: str, amount: Decimal, leader_price: Decimal, slippage_bps: int, tick: Decimal, best_price: Decimal | None
) -> CopySize | Skip:
    """Apply price protection and minimums to a sized copy; a Skip carries the plain reason."""
    if amount <= 0:
        return Skip("below_min_size", "nothing to trade at your sizing")
    if best_price is None:
        return Skip("no_liquidity", "the book had no " + ("asks" if side == "BUY" else "bids"))
    limit = worst_price(side=side, leader_price=leader_price, slippage_bps=slippage_bps, tick=tick)
    moved = (best_price - leader_price) / leader_price * (1 if side == "BUY" else -1)
    if (side == "BUY" and best_price > limit) or (side == "SELL" and best_price < limit):
        return Skip(
            "slippage", f"price moved {_pct(moved)} past the leader's, your limit is {_pct(slippage_bps / BPS)}"
        )
    if side == "BUY":
        spend = round_down(amount, 2)
        if spend < MIN_MARKETABLE_USDC:
            return Skip("below_min_size", f"${spend} is under the $1 minimum for a marketable order")
        return CopySize(side=side, amount=spend, limit_price=limit, notional_usdc=spend)
    shares = round_down(amount, 2)
    notional = round_down(shares * limit, 6)
    if shares <= 0 or notional < MIN_MARKETABLE_USDC:
        return Skip("below_min_size", f"{shares} shares is under the $1 minimum for a marketable order")
    return CopySize(side=side, amount=shares, limit_price=limit, notional_usdc=notional)


def _pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.1'))} %"
