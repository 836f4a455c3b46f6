"""Template filters for honest money: ``{{ x|usd }}``, ``{{ x|usd_signed }}``, ``{{ x|pct }}``,
``{{ x|price:tick }}``, ``{{ x|shares }}`` (polyhunter.lib.money does the formatting)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from polyhunter.lib.money import format_percent, format_price, format_shares, format_usd

register = template.Library()


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


@register.filter
def usd(value: Any) -> str:
    return format_usd(_decimal(value))


@register.filter
def usd_signed(value: Any) -> str:
    return format_usd(_decimal(value), signed=True)


@register.filter
def usd_whole(value: Any) -> str:
    return format_usd(_decimal(value), places=0)


@register.filter
def pct(value: Any) -> str:
    return format_percent(_decimal(value))


@register.filter
def pct_signed(value: Any) -> str:
    return format_percent(_decimal(value), signed=True)


@register.filter
def price(value: Any, tick: Any = None) -> str:
    return format_price(_decimal(value), tick=_decimal(tick))


@register.filter
def shares(value: Any) -> str:
    return format_shares(_decimal(value))
