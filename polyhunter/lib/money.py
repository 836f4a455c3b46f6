"""Decimal money helpers. Amounts on the venue are integers in 6-decimal base units."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

BASE_UNITS = Decimal(10) ** 6
ZERO = Decimal(0)


class InexactAmount(ValueError):
    pass


def decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int), "NaN and infinities are never amounts"
    return max(0, -exponent)


def round_down(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR)


def round_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_CEILING)


def to_base_units(value: Decimal) -> int:
    """6-decimal base units; refuses (never rounds) a value with more precision."""
    scaled = value * BASE_UNITS
    if scaled != scaled.to_integral_value():
        raise InexactAmount(f"{value} has more than 6 decimal places")
    return int(scaled)


def from_base_units(units: int) -> Decimal:
    return Decimal(units) / BASE_UNITS
