"""Amount, tick and minimum-size rules, with Polymarket's wording."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from execution.simulator import ApiCredentials, Venue
from execution.simulator.amounts import check_amounts
from execution.simulator.errors import VenueError

from .support import PK0, YES, body, sign_order

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "order_amount_vectors_computed.json").read_text()
)


def check(side: str, maker: int, taker: int, tick: str = "0.01", *, market: bool = False, **limits: Any) -> str:
    try:
        check_amounts(
            order_id="0xabc",
            side=side,
            marketable_type=market,
            maker_amount=maker,
            taker_amount=taker,
            tick=Decimal(tick),
            min_order_size=Decimal(limits.get("min_order_size", "0")),
            min_marketable_buy=Decimal(limits.get("min_marketable_buy", "0")),
        )
    except VenueError as refusal:
        return refusal.message
    return "accepted"


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['kind']}-{v['side']}-{v['price']}-{v['tick_size']}")
def test_it_accepts_every_amount_the_official_clients_compute(vector: dict[str, str]) -> None:
    result = check(
        vector["side"],
        int(vector["makerAmount"]),
        int(vector["takerAmount"]),
        vector["tick_size"],
        market=vector["kind"] == "market",
    )
    assert result == "accepted"


def test_it_names_the_decimal_limits_of_a_limit_buy() -> None:
    # 21.04 shares at 0.56 cost 11.7824; one more decimal on the maker side is too many for tick 0.01.
    assert check("BUY", 11_782_410, 21_040_000) == (
        "invalid amounts, the buy orders maker amount supports a max accuracy of 4 decimals, "
        "taker amount a max of 2 decimals"
    )
    assert check("BUY", 1_298_881, 10_560_000, "0.001").endswith(
        "max accuracy of 5 decimals, taker amount a max of 2 decimals"
    )


def test_it_names_the_decimal_limits_of_a_market_buy() -> None:
    assert check("BUY", 25_001_000, 43_860_000, market=True) == (
        "invalid amounts, the market buy orders maker amount supports a max accuracy of 2 decimals, "
        "taker amount a max of 4 decimals"
    )


def test_it_names_the_decimal_limits_of_sells() -> None:
    assert check("SELL", 21_041_000, 11_782_400) == (
        "invalid amounts, the sell orders maker amount supports a max accuracy of 2 decimals, "
        "taker amount a max of 4 decimals"
    )


def test_it_quotes_the_amount_a_limit_order_should_have_had() -> None:
    # The JKorf/Polymarket.Net issue #5 case: SELL 19.69 at 0.22 with a rounded taker amount.
    assert check("SELL", 19_690_000, 4_330_000) == (
        "invalid amounts, the taker amount for a $0.22 order of size 19.69 should be '4.3318' but the value "
        "submited is '4.33'. Please check if you are using the latest version of the 'clob-client' library"
    )


@pytest.mark.parametrize(
    ("tick", "maker", "taker", "price"),
    [
        ("0.01", 5_550_000, 10_000_000, "0.555"),
        ("0.005", 130_000, 10_000_000, "0.013"),
        ("0.0025", 310_000, 10_000_000, "0.031"),
        ("0.1", 5_000_000, 10_000_000, "0.5"),
    ],
)
def test_it_refuses_prices_off_the_tick_grid(tick: str, maker: int, taker: int, price: str) -> None:
    message = check("BUY", maker, taker, tick)
    if price == "0.5":
        assert message == "accepted"
    elif tick == "0.01":
        assert message.startswith("invalid amounts, the maker amount for a $0.56 order of size 10")
    else:
        assert message == f"order 0xabc is invalid. Price ({price}) breaks minimum tick size rule: {tick}"


def test_it_refuses_prices_outside_one_tick_of_the_bounds() -> None:
    assert (
        check("BUY", 10_000_000, 10_000_000) == "order 0xabc is invalid. Price (1) breaks minimum tick size rule: 0.01"
    )
    assert check("SELL", 10_000_000, 10_000_000, market=True).endswith("breaks minimum tick size rule: 0.01")


def test_it_refuses_a_resting_order_below_the_minimum_size() -> None:
    assert check("BUY", 540_000, 1_080_000, min_order_size="5") == (
        "order 0xabc is invalid. Size (1.08) lower than the minimum: 5"
    )


def test_it_refuses_a_marketable_buy_under_one_dollar() -> None:
    assert check("BUY", 840_000, 1_500_000, market=True, min_marketable_buy="1") == (
        "invalid amount for a marketable BUY order ($0.84), min size: 1"
    )


def test_it_refuses_amounts_that_floor_to_zero(venue: Venue, creds0: ApiCredentials) -> None:
    order = sign_order(
        PK0,
        token_id=YES,
        side="BUY",
        maker_amount=0,
        taker_amount=0,
    )
    with pytest.raises(VenueError) as caught:
        venue.place(body(order, creds0.key), creds0)
    assert caught.value.message == "Invalid order payload"


def test_it_applies_the_minimum_size_over_the_wire_with_the_order_hash(venue: Venue, creds0: ApiCredentials) -> None:
    order = sign_order(
        PK0,
        token_id=YES,
        side="BUY",
        maker_amount=540_000,
        taker_amount=1_080_000,
    )
    with pytest.raises(VenueError) as caught:
        venue.place(body(order, creds0.key), creds0)
    assert caught.value.message.startswith("order 0x")
    assert caught.value.message.endswith("is invalid. Size (1.08) lower than the minimum: 5")
