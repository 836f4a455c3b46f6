"""The worst-case taker fee a BUY is planned with bounds every fee its fills can be charged."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from hypothesis import given
from hypothesis import strategies as st

from execution.venue.orders import FeeSchedule

TICKS = [Decimal("0.1"), Decimal("0.01"), Decimal("0.001"), Decimal("0.0001")]
SHARE_UNIT = Decimal("0.000001")


@st.composite
def fills(draw: st.DrawFn) -> tuple[FeeSchedule, Decimal, Decimal, Decimal, list[tuple[Decimal, Decimal]]]:
    """A fee curve, an order (pUSD, limit, tick) and the levels it filled at: (price, pUSD spent)."""
    tick = draw(st.sampled_from(TICKS))
    steps = int(1 / tick) - 1
    limit = tick * draw(st.integers(min_value=1, max_value=steps))
    usdc = Decimal(draw(st.integers(min_value=100, max_value=500_000))) / 100
    fees = FeeSchedule(
        rate=Decimal(draw(st.integers(min_value=0, max_value=100))) / 1000,
        exponent=Decimal(draw(st.sampled_from([1, 2, 3]))),
    )
    left, levels = usdc, []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        price = tick * draw(st.integers(min_value=1, max_value=int(limit / tick)))
        spent = min(left, Decimal(draw(st.integers(min_value=1, max_value=int(usdc * 100)))) / 100)
        levels.append((price, spent))
        left -= spent
        if left <= 0:
            break
    return fees, usdc, limit, tick, levels


@given(fills())
def test_no_fill_of_a_buy_within_its_limit_pays_more_fee_than_planned(
    case: tuple[FeeSchedule, Decimal, Decimal, Decimal, list[tuple[Decimal, Decimal]]],
) -> None:
    fees, usdc, limit, tick, levels = case
    planned = fees.worst_buy_fee(usdc=usdc, max_price=limit, tick=tick)
    charged = sum(
        (
            fees.taker_fee(shares=(spent / price).quantize(SHARE_UNIT, rounding=ROUND_FLOOR), price=price)
            for price, spent in levels
        ),
        Decimal(0),
    )
    assert charged <= planned
    assert planned == planned.quantize(SHARE_UNIT)


def test_the_worst_case_for_the_usual_curve_is_a_fill_at_the_lowest_price() -> None:
    fees = FeeSchedule(rate=Decimal("0.072"), exponent=Decimal(1))
    # $10 at 0.01 buys 1,000 shares: 1000 * 0.072 * 0.01 * 0.99 = 0.7128
    assert fees.worst_buy_fee(usdc=Decimal(10), max_price=Decimal("0.58"), tick=Decimal("0.01")) == Decimal("0.7128")
    assert fees.taker_fee(shares=Decimal(1000), price=Decimal("0.01")) == Decimal("0.7128")
    assert FeeSchedule().worst_buy_fee(usdc=Decimal(10), max_price=Decimal("0.5"), tick=Decimal("0.01")) == 0


def test_a_steeper_curve_peaks_inside_the_range() -> None:
    fees = FeeSchedule(rate=Decimal("0.1"), exponent=Decimal(2))
    # p * (1 - p)**2 peaks at 1/3: 1/3 * 4/9 = 4/27 per pUSD
    planned = fees.worst_buy_fee(usdc=Decimal(27), max_price=Decimal("0.9"), tick=Decimal("0.01"))
    assert Decimal("0.4") <= planned <= Decimal("0.400001")  # 1/3 is inexact: rounded up, never down
