"""Order amounts per tick size and every refusal made before signing."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from polymarket._internal.environment import EnvironmentConfig

from execution.venue.amounts import TICK_SIZES, order_amounts, validate_order
from execution.venue.errors import InvalidOrder
from execution.venue.orders import OrderRequest
from execution.venue.signing import sign_order_with_key
from tests.execution.venue.conftest import ADDRESS_0, KEY_0, fixture, market
from tests.factories import TOKEN_NO, TOKEN_YES

AMOUNT_VECTORS = fixture("order_amount_vectors_computed.json")


def _request(row: dict[str, Any]) -> OrderRequest:
    price = Decimal(row["price"])
    if row["kind"] == "limit":
        return OrderRequest.limit(token_id=TOKEN_YES, side=row["side"], price=price, size=Decimal(row["size_shares"]))
    if row["side"] == "BUY":
        return OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal(row["amount"]), max_price=price)
    return OrderRequest.market_sell(token_id=TOKEN_YES, shares=Decimal(row["amount"]), min_price=price)


@pytest.mark.parametrize("row", AMOUNT_VECTORS, ids=lambda r: f"{r['kind']}-{r['side']}-{r['price']}-{r['tick_size']}")
def test_it_reproduces_every_amount_vector(row: dict[str, Any]) -> None:
    amounts = order_amounts(request=_request(row), tick_size=Decimal(row["tick_size"]))
    assert (str(amounts.maker_amount), str(amounts.taker_amount)) == (row["makerAmount"], row["takerAmount"])


@pytest.mark.parametrize("row", AMOUNT_VECTORS, ids=lambda r: f"{r['kind']}-{r['side']}-{r['price']}-{r['tick_size']}")
def test_signed_orders_carry_the_vector_amounts(row: dict[str, Any], config: EnvironmentConfig) -> None:
    info = market(tick=row["tick_size"], min_size="1")
    payload = sign_order_with_key(
        private_key=KEY_0, api_key="k", funder=ADDRESS_0, request=_request(row), market=info, config=config
    )
    assert (str(payload.maker_amount), str(payload.taker_amount)) == (row["makerAmount"], row["takerAmount"])


def test_every_tick_size_of_the_reference_is_covered_by_the_vectors() -> None:
    assert {Decimal(r["tick_size"]) for r in AMOUNT_VECTORS} == set(TICK_SIZES)


@pytest.mark.parametrize("tick", [str(t) for t in TICK_SIZES])
def test_prices_are_accepted_on_the_grid_and_refused_off_it_for_every_tick(tick: str) -> None:
    size = Decimal(10)
    step = Decimal(tick)
    info = market(tick=tick, min_size="1")
    for price in (step, Decimal("0.5"), 1 - step):
        validate_order(request=OrderRequest.limit(token_id=TOKEN_YES, side="BUY", price=price, size=size), market=info)
    with pytest.raises(InvalidOrder) as off:
        validate_order(
            request=OrderRequest.limit(token_id=TOKEN_YES, side="BUY", price=Decimal("0.5") + step / 2, size=size),
            market=info,
        )
    assert off.value.reason == "price_off_tick"
    for outside in (step / 2, 1 - step / 2, Decimal(1), Decimal("0.0000")):
        with pytest.raises(InvalidOrder) as out:
            validate_order(
                request=OrderRequest.limit(token_id=TOKEN_YES, side="SELL", price=outside, size=size), market=info
            )
        assert out.value.reason in {"price_out_of_range", "non_positive"}


def _refusal(request: OrderRequest, **market_args: Any) -> str:
    with pytest.raises(InvalidOrder) as refused:
        validate_order(request=request, market=market(**market_args))
    return refused.value.reason


def test_it_refuses_float_inputs() -> None:
    sneaky = OrderRequest(token_id=TOKEN_YES, side="BUY", order_type="GTC", price=0.1 + 0.2, size=Decimal(10))  # type: ignore[arg-type]
    assert _refusal(sneaky) == "float_input"
    sized = OrderRequest(token_id=TOKEN_YES, side="BUY", order_type="GTC", price=Decimal("0.3"), size=10.0)  # type: ignore[arg-type]
    assert _refusal(sized) == "float_input"


def test_it_refuses_amounts_that_floor_to_zero() -> None:
    tiny = OrderRequest.limit(token_id=TOKEN_YES, side="BUY", price=Decimal("0.5"), size=Decimal("0.004"))
    assert _refusal(tiny, min_size="0") == "amount_rounds_to_zero"
    tiny_sell = OrderRequest.market_sell(token_id=TOKEN_YES, shares=Decimal("0.009"), min_price=Decimal("0.5"))
    assert _refusal(tiny_sell) == "amount_rounds_to_zero"


def test_it_refuses_a_resting_order_under_the_market_minimum() -> None:
    one_share = OrderRequest.limit(token_id=TOKEN_YES, side="BUY", price=Decimal("0.5"), size=Decimal(1))
    assert _refusal(one_share, min_size="5") == "below_min_size"
    # 5.009 floors to 5.00 shares: exactly the minimum is fine.
    validate_order(
        request=OrderRequest.limit(token_id=TOKEN_YES, side="SELL", price=Decimal("0.5"), size=Decimal("5.009")),
        market=market(min_size="5"),
    )
    rounded_under = OrderRequest.limit(token_id=TOKEN_YES, side="SELL", price=Decimal("0.5"), size=Decimal("4.999"))
    assert _refusal(rounded_under, min_size="5") == "below_min_size"


def test_a_marketable_order_is_not_held_to_the_resting_minimum_but_a_buy_needs_one_dollar() -> None:
    validate_order(
        request=OrderRequest.market_sell(token_id=TOKEN_YES, shares=Decimal(1), min_price=Decimal("0.5")),
        market=market(min_size="5"),
    )
    validate_order(
        request=OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal(1), max_price=Decimal("0.5")),
        market=market(min_size="5"),
    )
    under = OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal("0.999"), max_price=Decimal("0.5"))
    assert _refusal(under) == "below_min_notional"


def test_it_refuses_a_protected_buy_whose_rounding_would_break_its_max_price(config: EnvironmentConfig) -> None:
    # $1 at <= 0.7 on a 0.1 tick (3 amount decimals) signs 1 / 1.428 = 0.70028: a 0.7001 ask
    # (finest grid) could be lifted. The SDK refuses the same order ("Cannot preserve max_price").
    request = OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal(1), max_price=Decimal("0.7"))
    assert _refusal(request, tick="0.1") == "max_price_not_preservable"
    # $25.12 at <= 0.57 on a 0.01 tick signs 0.570001: accepted.
    fine = OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal("25.12"), max_price=Decimal("0.57"))
    amounts = validate_order(request=fine, market=market())
    assert Decimal("0.57") <= amounts.maker_decimal / amounts.taker_decimal < Decimal("0.5701")


def test_it_refuses_order_shapes_the_venue_would_refuse() -> None:
    soon = int(time.time()) + 60
    gtd = OrderRequest.limit(token_id=TOKEN_YES, side="BUY", price=Decimal("0.5"), size=Decimal(10), expiration=soon)
    assert _refusal(gtd) == "expiration_too_soon"
    later = int(time.time()) + 600
    validate_order(
        request=OrderRequest.limit(
            token_id=TOKEN_YES, side="BUY", price=Decimal("0.5"), size=Decimal(10), expiration=later
        ),
        market=market(),
    )
    fak_post_only = OrderRequest(
        token_id=TOKEN_YES, side="BUY", order_type="FAK", price=Decimal("0.5"), amount=Decimal(5), post_only=True
    )
    assert _refusal(fak_post_only) == "post_only_marketable"
    gtc_with_expiry = OrderRequest(
        token_id=TOKEN_YES, side="BUY", order_type="GTC", price=Decimal("0.5"), size=Decimal(10), expiration=later
    )
    assert _refusal(gtc_with_expiry) == "bad_expiration"
    buy_without_amount = OrderRequest(token_id=TOKEN_YES, side="BUY", order_type="FAK", price=Decimal("0.5"))
    assert _refusal(buy_without_amount) == "missing_quantity"


def test_it_refuses_tokens_and_markets_it_cannot_trade() -> None:
    short = OrderRequest.limit(token_id="12ab", side="BUY", price=Decimal("0.5"), size=Decimal(10))
    assert _refusal(short) == "bad_token_id"
    other = OrderRequest.limit(token_id="1" * 77, side="BUY", price=Decimal("0.5"), size=Decimal(10))
    assert _refusal(other) == "token_not_in_market"
    fine = OrderRequest.limit(token_id=TOKEN_NO, side="BUY", price=Decimal("0.5"), size=Decimal(10))
    assert _refusal(fine, accepting=False) == "market_not_accepting"
    validate_order(request=fine, market=market(accepting=None))
    assert _refusal(fine, tick="0.02") == "unsupported_tick_size"
