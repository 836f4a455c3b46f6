"""Decimal money helpers. Amounts on the venue are integers in 6-decimal base units."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

BASE_UNITS = Decimal(10) ** 6


def round_down(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR)


# -- how amounts read on pages, e-mails and exports ---------------------------------------------

MINUS = "\u2212"  # a true minus sign (U+2212) before the dollar: never "-0.28" or "$-0.28"
UNIT = Decimal("0.000001")
_MAX_PRICE_PLACES = 6
_ON_GRID = Decimal("0.00001")


def _rounded(value: Decimal, places: int) -> Decimal:
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded == 0 else rounded  # never a negative zero


def format_usd(value: Decimal | int | None, *, places: int = 2, signed: bool = False, blank: str = "—") -> str:
    """'$1,234.56'; a loss with a true minus sign before the dollar; with ``signed`` a gain '+$0.28';
    zero is '$0.00', never a negative zero."""
    if value is None:
        return blank
    amount = _rounded(Decimal(value), places)
    sign = MINUS if amount < 0 else ("+" if signed and amount > 0 else "")
    return f"{sign}${abs(amount):,.{places}f}"


def format_percent(value: Decimal | int | None, *, places: int = 1, signed: bool = False, blank: str = "—") -> str:
    """'4.1 %', a true minus sign before '0.3 %', '0.0 %' (a value that rounds to zero has no sign)."""
    if value is None:
        return blank
    amount = _rounded(Decimal(value), places)
    sign = MINUS if amount < 0 else ("+" if signed and amount > 0 else "")
    return f"{sign}{abs(amount):,.{places}f} %"


def _tick_places(tick: Decimal | None) -> int:
    """Decimal places of a tick size (0.01 → 2, 0.001 → 3); 2 when the tick is unknown."""
    if not tick:
        return 2
    exponent = Decimal(tick).normalize().as_tuple().exponent
    assert isinstance(exponent, int), "NaN and infinities are never ticks"
    return max(0, -exponent)


def format_price(value: Decimal | None, *, tick: Decimal | None = None, blank: str = "—") -> str:
    """A price to the market's tick ('0.53', '0.968'); an average between ticks (a fill over several
    levels, fees included) gets two more places so it is not rounded onto a price it never had."""
    if value is None:
        return blank
    places = _tick_places(tick)
    price = Decimal(value)
    # A fill's price is pUSD / shares, both floored to base units: 0.51 can come back 0.5100001.
    # Within a hundred-thousandth of the grid it is on the grid.
    if abs(price - price.quantize(Decimal(1).scaleb(-places))) >= _ON_GRID:
        places = min(places + 2, _MAX_PRICE_PLACES)
    return f"{_rounded(price, places):.{places}f}"


def format_shares(value: Decimal | None, *, blank: str = "—") -> str:
    return blank if value is None else f"{_rounded(Decimal(value), 2):,.2f}"


def exact_units(value: Decimal | int | None) -> str:
    """The exact amount in the venue's unit (6 decimals), for exports: '10.005000'."""
    return "" if value is None else f"{Decimal(value).quantize(UNIT, rounding=ROUND_HALF_UP):f}"
