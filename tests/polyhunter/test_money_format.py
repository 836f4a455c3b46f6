"""Money on pages reads honestly: a true minus sign, no negative zero, prices to the tick.

Failed before issue #14: pages showed ``$-0.28``, "worse by -0.00 %" and prices to four places."""

from __future__ import annotations

from decimal import Decimal

import pytest

from polyhunter.lib.money import MINUS, exact_units, format_percent, format_price, format_shares, format_usd


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("-0.28"), f"{MINUS}$0.28"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("-0.004"), "$0.00"),
        (Decimal("0"), "$0.00"),
        (Decimal("10.005"), "$10.01"),
        (None, "—"),
    ],
)
def test_dollar_amounts_use_a_true_minus_sign_and_never_show_a_negative_zero(value: Decimal, text: str) -> None:
    assert format_usd(value) == text


def test_a_signed_amount_shows_a_plus_for_a_gain_and_nothing_for_zero() -> None:
    assert format_usd(Decimal("0.28"), signed=True) == "+$0.28"
    assert format_usd(Decimal("-0.001"), signed=True) == "$0.00"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("-0.001"), "0.0 %"),
        (Decimal("-0.04"), "0.0 %"),
        (Decimal("-0.05"), f"{MINUS}0.1 %"),
        (Decimal("4.1"), "4.1 %"),
    ],
)
def test_percentages_never_read_minus_zero(value: Decimal, text: str) -> None:
    assert format_percent(value) == text


def test_prices_show_the_markets_tick_and_averages_keep_two_more_places() -> None:
    assert format_price(Decimal("0.5300000000"), tick=Decimal("0.01")) == "0.53"
    assert format_price(Decimal("0.968"), tick=Decimal("0.001")) == "0.968"
    assert format_price(Decimal("0.535"), tick=Decimal("0.01")) == "0.5350"
    assert format_price(Decimal("0.5100001020"), tick=Decimal("0.01")) == "0.51"  # floored base units
    assert format_price(None) == "—"


def test_shares_read_to_two_places_and_exports_to_the_exact_unit() -> None:
    assert format_shares(Decimal("9.8039")) == "9.80"
    assert exact_units(Decimal("10.005")) == "10.005000"
    assert exact_units(Decimal("-0.28")) == "-0.280000"
