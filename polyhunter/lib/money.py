"""Decimal money helpers. Amounts on the venue are integers in 6-decimal base units."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

BASE_UNITS = Decimal(10) ** 6


def round_down(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR)
