"""Order amounts (per tick size) and the checks the SDK does not make, run before signing.

Amounts come from the SDK's own rounding functions, so what we sign is exactly what the SDK
would; the checks around them are ours because the SDK signs orders whose amounts floor to zero,
ignores the market minimum and the $1 marketable-BUY floor, and turns floats into surprises.
Every refusal is an ``InvalidOrder`` with a stable reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from polymarket._internal.actions.orders.context import MIN_SUPPORTED_TICK_SIZE
from polymarket._internal.actions.orders.limit import _MIN_EXPIRATION_BUFFER_S, _compute_limit_order_amounts
from polymarket._internal.actions.orders.market import _compute_market_order_amounts

from execution.venue.errors import InvalidOrder
from execution.venue.orders import MARKETABLE_TYPES, RESTING_TYPES, MarketInfo, OrderRequest

# Reference §4.4: decimals of price, size and amount per tick size.
ROUNDING: dict[Decimal, tuple[int, int, int]] = {
    Decimal("0.1"): (1, 2, 3),
    Decimal("0.01"): (2, 2, 4),
    Decimal("0.005"): (3, 2, 5),
    Decimal("0.0025"): (4, 2, 6),
    Decimal("0.001"): (3, 2, 5),
    Decimal("0.0001"): (4, 2, 6),
}
TICK_SIZES = tuple(ROUNDING)
MIN_MARKETABLE_BUY_USDC = Decimal(1)
# GTD expiration must be at least this far ahead (the SDK's own floor; the server's is 60 s).
MIN_GTD_LEAD_SECONDS = _MIN_EXPIRATION_BUFFER_S
_BASE_UNITS = Decimal(10) ** 6


@dataclass(frozen=True, kw_only=True)
class OrderAmounts:
    """Base units (6 decimals) as signed: what the maker gives and what it receives."""

    maker_amount: int
    taker_amount: int

    @property
    def maker_decimal(self) -> Decimal:
        return Decimal(self.maker_amount) / _BASE_UNITS

    @property
    def taker_decimal(self) -> Decimal:
        return Decimal(self.taker_amount) / _BASE_UNITS


def order_amounts(*, request: OrderRequest, tick_size: Decimal) -> OrderAmounts:
    """The SDK's rounding for this request (no validation beyond the tick being supported)."""
    quantity = request.quantity
    if quantity is None:
        raise InvalidOrder("the order has no size/amount", reason="missing_quantity")
    if tick_size not in ROUNDING:
        raise InvalidOrder(f"unsupported tick size {tick_size}", reason="unsupported_tick_size")
    if request.is_marketable:
        maker, taker = _compute_market_order_amounts(
            amount=quantity, price=request.price, side=request.side, tick_size=tick_size
        )
    else:
        maker, taker = _compute_limit_order_amounts(
            price=request.price, size=quantity, side=request.side, tick_size=tick_size
        )
    return OrderAmounts(maker_amount=maker, taker_amount=taker)


def validate_order(*, request: OrderRequest, market: MarketInfo, now: int | None = None) -> OrderAmounts:
    """Refuse what the venue would refuse (or what would silently go wrong), then compute amounts.

    Raises InvalidOrder with reasons: float_input, not_decimal, non_positive, bad_token_id,
    token_not_in_market, unsupported_tick_size, market_not_accepting, price_out_of_range,
    price_off_tick, bad_order_type, bad_expiration, expiration_too_soon, post_only_marketable,
    amount_rounds_to_zero, below_min_size, below_min_notional, max_price_not_preservable.

    ``now`` (unix seconds) is read only for a GTD expiration and should be the venue's time
    (``execution.venue.clock``); it defaults to this host's clock. The pipeline signs FAK/FOK
    orders only, which carry no expiration, so no clock is read on the order path.
    """
    _check_inputs(request)
    _check_market(request, market)
    _check_price(request.price, market.tick_size)
    _check_type(request, now=int(time.time()) if now is None else now)
    amounts = order_amounts(request=request, tick_size=market.tick_size)
    if amounts.maker_amount <= 0 or amounts.taker_amount <= 0:
        raise InvalidOrder(
            f"amounts round to zero (maker {amounts.maker_amount}, taker {amounts.taker_amount})",
            reason="amount_rounds_to_zero",
        )
    _check_minimums(request, market, amounts)
    return amounts


def _check_inputs(request: OrderRequest) -> None:
    for name in ("price", "size", "amount"):
        value = getattr(request, name)
        if value is None:
            continue
        if isinstance(value, float):
            raise InvalidOrder(f"{name} is a float ({value!r}); pass a Decimal", reason="float_input")
        if not isinstance(value, Decimal):
            raise InvalidOrder(f"{name} must be a Decimal, got {type(value).__name__}", reason="not_decimal")
        if not value.is_finite() or value <= 0:
            raise InvalidOrder(f"{name} must be a positive finite number, got {value}", reason="non_positive")
    if request.quantity is None:
        what = "amount (pUSD)" if request.is_marketable and request.side == "BUY" else "size (shares)"
        raise InvalidOrder(f"a {request.side} {request.order_type} order needs its {what}", reason="missing_quantity")
    token = request.token_id
    if not (isinstance(token, str) and token.isascii() and token.isdigit() and int(token) < 2**256):
        raise InvalidOrder(f"token id must be a decimal uint256 string, got {token!r}", reason="bad_token_id")


def _check_market(request: OrderRequest, market: MarketInfo) -> None:
    if market.token_ids and request.token_id not in market.token_ids:
        raise InvalidOrder(
            f"token {request.token_id} is not an outcome of market {market.condition_id}", reason="token_not_in_market"
        )
    if market.tick_size not in ROUNDING:
        raise InvalidOrder(f"unsupported tick size {market.tick_size}", reason="unsupported_tick_size")
    if market.accepting_orders is False:
        raise InvalidOrder(f"market {market.condition_id} is not accepting orders", reason="market_not_accepting")


def _check_price(price: Decimal, tick: Decimal) -> None:
    if price < tick or price > 1 - tick:
        raise InvalidOrder(f"price {price} is outside [{tick}, {1 - tick}]", reason="price_out_of_range")
    if price % tick != 0:
        raise InvalidOrder(f"price {price} is not on the {tick} tick grid", reason="price_off_tick")


def _check_type(request: OrderRequest, *, now: int) -> None:
    kind = request.order_type
    if kind not in RESTING_TYPES and kind not in MARKETABLE_TYPES:
        raise InvalidOrder(f"unknown order type {kind!r}", reason="bad_order_type")
    if request.side not in ("BUY", "SELL"):
        raise InvalidOrder(f"side must be BUY or SELL, got {request.side!r}", reason="bad_order_type")
    if isinstance(request.expiration, bool) or not isinstance(request.expiration, int):
        raise InvalidOrder("expiration must be an int (unix seconds)", reason="bad_expiration")
    if kind == "GTD":
        if request.expiration < now + MIN_GTD_LEAD_SECONDS:
            raise InvalidOrder(
                f"GTD expiration must be at least {MIN_GTD_LEAD_SECONDS} s ahead", reason="expiration_too_soon"
            )
    elif request.expiration != 0:
        raise InvalidOrder(f"{kind} orders carry no expiration", reason="bad_expiration")
    if request.post_only and kind not in RESTING_TYPES:
        raise InvalidOrder("post-only applies to GTC/GTD orders only", reason="post_only_marketable")


def _check_minimums(request: OrderRequest, market: MarketInfo, amounts: OrderAmounts) -> None:
    if not request.is_marketable:
        shares = amounts.taker_decimal if request.side == "BUY" else amounts.maker_decimal
        if shares < market.min_order_size:
            raise InvalidOrder(
                f"size {shares} is below the market minimum of {market.min_order_size} shares", reason="below_min_size"
            )
        return
    if request.side == "SELL":
        return
    spend = amounts.maker_decimal
    if spend < MIN_MARKETABLE_BUY_USDC:
        raise InvalidOrder(
            f"a marketable BUY needs at least ${MIN_MARKETABLE_BUY_USDC}, got ${spend}", reason="below_min_notional"
        )
    _check_max_price_preserved(request.price, amounts)


def _check_max_price_preserved(max_price: Decimal, amounts: OrderAmounts) -> None:
    # The taker amount is floored, so the signed price maker/taker sits a hair above max_price.
    # Like the SDK (market.py), refuse when it would reach the next price on the finest grid the
    # market could move to: the order could then lift an ask above the limit we promised.
    next_price = max_price + MIN_SUPPORTED_TICK_SIZE
    if Decimal(amounts.maker_amount) >= Decimal(amounts.taker_amount) * next_price:
        raise InvalidOrder(
            f"amount too small to keep the price at or below {max_price} after rounding",
            reason="max_price_not_preservable",
        )
