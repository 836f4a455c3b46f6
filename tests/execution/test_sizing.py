"""Sizing and price protection (reliability S34: property tests over Decimal inputs)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from execution.sizing import CopySize, Skip, protect, sell_shares, target_usdc, worst_price

TICKS = [Decimal(t) for t in ("0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001")]
prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("0.9999"), places=4)
usdc = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000000"), places=6)
ratios = st.decimals(min_value=Decimal("0"), max_value=Decimal("10"), places=4)
bps = st.integers(min_value=0, max_value=5000)


@given(side=st.sampled_from(["BUY", "SELL"]), leader=prices, slippage=bps, tick=st.sampled_from(TICKS))
def test_the_worst_price_is_on_the_tick_grid_within_bounds(
    side: str, leader: Decimal, slippage: int, tick: Decimal
) -> None:
    price = worst_price(side=side, leader_price=leader, slippage_bps=slippage, tick=tick)
    assert isinstance(price, Decimal)
    assert price % tick == 0
    assert tick <= price <= 1 - tick


@given(leader=prices, slippage=bps, tick=st.sampled_from(TICKS))
def test_the_worst_price_never_exceeds_the_slippage_allowance(leader: Decimal, slippage: int, tick: Decimal) -> None:
    buy = worst_price(side="BUY", leader_price=leader, slippage_bps=slippage, tick=tick)
    sell = worst_price(side="SELL", leader_price=leader, slippage_bps=slippage, tick=tick)
    allowance = leader * Decimal(slippage) / Decimal(10_000)
    assert buy <= max(leader + allowance, tick)
    assert sell >= min(leader - allowance, 1 - tick)


@given(
    mode=st.sampled_from(["fixed_usdc", "proportional"]),
    value=ratios,
    leader=usdc,
    low=st.none() | usdc,
    high=st.none() | usdc,
)
def test_a_target_never_exceeds_the_follow_maximum_and_is_whole_cents(
    mode: str, value: Decimal, leader: Decimal, low: Decimal | None, high: Decimal | None
) -> None:
    amount = target_usdc(mode=mode, value=value, leader_usdc=leader, min_usdc=low, max_usdc=high)
    assert amount >= 0
    assert amount == amount.quantize(Decimal("0.01"))
    if high is not None:
        assert amount <= high
    if amount > 0 and low is not None:
        assert amount >= low.quantize(Decimal("0.01")) - Decimal("0.01")


@given(leader=usdc, small=ratios, large=ratios)
def test_proportional_sizing_is_monotonic_in_the_ratio(leader: Decimal, small: Decimal, large: Decimal) -> None:
    small, large = min(small, large), max(small, large)
    a = target_usdc(mode="proportional", value=small, leader_usdc=leader, min_usdc=None, max_usdc=None)
    b = target_usdc(mode="proportional", value=large, leader_usdc=leader, min_usdc=None, max_usdc=None)
    assert a <= b


@given(
    side=st.sampled_from(["BUY", "SELL"]),
    amount=usdc,
    leader=prices,
    slippage=bps,
    tick=st.sampled_from(TICKS),
    best=st.none() | prices,
)
def test_protection_signs_only_within_the_limit_and_above_the_minimum(
    side: str, amount: Decimal, leader: Decimal, slippage: int, tick: Decimal, best: Decimal | None
) -> None:
    result = protect(side=side, amount=amount, leader_price=leader, slippage_bps=slippage, tick=tick, best_price=best)
    if isinstance(result, Skip):
        assert result.reason in {"below_min_size", "no_liquidity", "slippage"}
        return
    assert isinstance(result, CopySize)
    assert best is not None
    assert result.limit_price % tick == 0
    assert tick <= result.limit_price <= 1 - tick
    assert (best <= result.limit_price) if side == "BUY" else (best >= result.limit_price)
    assert result.notional_usdc >= Decimal(1)
    assert result.amount <= amount
    assert result.amount == result.amount.quantize(Decimal("0.01"))


def test_it_explains_a_slippage_skip_in_plain_numbers() -> None:
    result = protect(
        side="BUY",
        amount=Decimal(25),
        leader_price=Decimal("0.40"),
        slippage_bps=300,
        tick=Decimal("0.01"),
        best_price=Decimal("0.55"),
    )
    assert result == Skip("slippage", "price moved 37.5 % past the leader's, your limit is 3.0 %")


def test_it_skips_a_copy_under_one_dollar() -> None:
    result = protect(
        side="BUY",
        amount=Decimal("0.99"),
        leader_price=Decimal("0.5"),
        slippage_bps=300,
        tick=Decimal("0.01"),
        best_price=Decimal("0.5"),
    )
    assert isinstance(result, Skip)
    assert result.reason == "below_min_size"


@given(holding=usdc, sold=usdc, bought=usdc)
def test_a_copy_sell_never_sells_more_than_the_follow_holds(holding: Decimal, sold: Decimal, bought: Decimal) -> None:
    shares = sell_shares(holding=holding, leader_sold=sold, leader_bought=bought)
    assert 0 <= shares <= holding


def test_a_leader_selling_half_its_buys_makes_the_follow_sell_half() -> None:
    assert sell_shares(holding=Decimal(40), leader_sold=Decimal(50), leader_bought=Decimal(100)) == Decimal(20)
