"""Server-side amount rules: decimals per tick, price on the tick grid, minimum sizes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from . import errors
from .constants import BASE_UNITS, PRICE_UNITS
from .errors import VenueError

# tick -> (price decimals, amount decimals); size decimals are 2 for every tick.
ROUNDING: dict[Decimal, tuple[int, int]] = {
    Decimal("0.1"): (1, 3),
    Decimal("0.01"): (2, 4),
    Decimal("0.005"): (3, 5),
    Decimal("0.0025"): (4, 6),
    Decimal("0.001"): (3, 5),
    Decimal("0.0001"): (4, 6),
}
SIZE_DECIMALS = 2


def decimals(base_units: int) -> int:
    """How many decimals `base_units / 1e6` needs (0..6)."""
    places = 6
    while places and base_units % 10 == 0:
        base_units //= 10
        places -= 1
    return places


@dataclass(frozen=True, slots=True)
class Priced:
    price_e4: int
    size: int
    usdc: int


def check_amounts(
    *,
    order_id: str,
    side: str,
    marketable_type: bool,
    maker_amount: int,
    taker_amount: int,
    tick: Decimal,
    min_order_size: Decimal,
    min_marketable_buy: Decimal,
) -> Priced:
    if maker_amount <= 0 or taker_amount <= 0:
        raise VenueError(errors.INVALID_ORDER_PAYLOAD)
    price_dp, amount_dp = ROUNDING[tick]
    if side == "BUY":
        usdc, shares = maker_amount, taker_amount
        maker_dp, taker_dp = (SIZE_DECIMALS, amount_dp) if marketable_type else (amount_dp, SIZE_DECIMALS)
    else:
        shares, usdc = maker_amount, taker_amount
        maker_dp, taker_dp = SIZE_DECIMALS, amount_dp
    if decimals(maker_amount) > maker_dp or decimals(taker_amount) > taker_dp:
        raise VenueError(
            errors.amount_accuracy(market=marketable_type, side=side, maker_decimals=maker_dp, taker_decimals=taker_dp)
        )
    ratio = Decimal(usdc) / Decimal(shares)
    quantum = Decimal(1).scaleb(-price_dp)
    price = ratio.quantize(quantum, rounding=ROUND_HALF_EVEN)
    on_grid = price % tick == 0 and tick <= price <= 1 - tick
    if not marketable_type and ratio != price:
        if not on_grid or ratio.quantize(quantum) == ratio:
            raise VenueError(errors.breaks_tick(order_id, ratio, tick))
        expected = Decimal(shares) * price / BASE_UNITS
        raise VenueError(
            errors.amount_inconsistent(
                which="maker" if side == "BUY" else "taker",
                price=price,
                size=Decimal(shares) / BASE_UNITS,
                expected=expected,
                submitted=Decimal(usdc) / BASE_UNITS,
            )
        )
    if not on_grid:
        raise VenueError(errors.breaks_tick(order_id, ratio if marketable_type else price, tick))
    if not marketable_type and Decimal(shares) / BASE_UNITS < min_order_size:
        raise VenueError(errors.size_below_minimum(order_id, Decimal(shares) / BASE_UNITS, min_order_size))
    if marketable_type and side == "BUY" and Decimal(usdc) / BASE_UNITS < min_marketable_buy:
        raise VenueError(errors.marketable_buy_too_small(Decimal(usdc) / BASE_UNITS, min_marketable_buy))
    return Priced(price_e4=int(price * PRICE_UNITS), size=shares, usdc=usdc)
