"""Reading the truth back: order by hash, trades, balances, books and market info."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from execution.venue.classify import RawBody
from execution.venue.errors import UnexpectedAnswer
from execution.venue.lookup import (
    classify_order_lookup,
    normalize_status,
    parse_balance_allowance,
    parse_trades_page,
)
from execution.venue.markets import parse_book, parse_clob_market, parse_condition_id
from execution.venue.orders import FeeSchedule
from tests.execution.venue.conftest import CONDITION, fixture
from tests.factories import TOKEN_NO

HASH = "0x078d7a47edd8934e83577a95dbbe275c97357ee9f4959546ba13fee9a21d365d"


def _order(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": HASH,
        "status": "LIVE",
        "owner": "k",
        "maker_address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "market": CONDITION,
        "asset_id": TOKEN_NO,
        "side": "BUY",
        "original_size": "21.04",
        "size_matched": "0",
        "price": "0.56",
        "outcome": "No",
        "expiration": "0",
        "order_type": "GTC",
        "associate_trades": [],
        "created_at": 1795260000,
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("status", "open_", "dead"),
    [
        ("LIVE", True, False),
        ("MATCHED", False, False),
        ("CANCELED", False, True),
        ("CANCELED_MARKET_RESOLVED", False, True),
        ("INVALID", False, True),
        ("ORDER_STATUS_LIVE", True, False),
        ("ORDER_STATUS_CANCELED", False, True),
        ("delayed", True, False),
    ],
)
def test_a_found_order_reports_its_status_and_size_matched(status: str, open_: bool, dead: bool) -> None:
    lookup = classify_order_lookup(200, _order(status=status, size_matched="7.5"), order_hash=HASH.upper())
    assert lookup.kind == "found"
    assert lookup.order is not None
    assert lookup.order.size_matched == Decimal("7.5")
    assert lookup.order.original_size == Decimal("21.04")
    assert (lookup.order.is_open, lookup.order.is_dead) == (open_, dead)
    assert not lookup.order.status.startswith("ORDER_STATUS_")


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (404, {"error": "order not found"}, "not_found"),
        (404, RawBody(""), "not_found"),
        (200, None, "not_found"),
        (200, {}, "not_found"),
        (200, RawBody(""), "unknown"),
        (200, RawBody("<html/>"), "unknown"),
        (200, ["x"], "unknown"),
        (200, {"id": HASH}, "unknown"),
        (200, {"id": HASH, "status": "LIVE", "size_matched": "many"}, "unknown"),
        (200, {"id": "0x" + "1" * 64, "status": "LIVE", "size_matched": "0"}, "unknown"),
        (401, {"error": "Unauthorized/Invalid api key"}, "unknown"),
        (429, {"error": "Too Many Requests"}, "unknown"),
        (500, {"error": "Internal server error"}, "unknown"),
        (None, RawBody("ReadTimeout"), "unknown"),
    ],
)
def test_only_a_definite_answer_says_not_found(status: int | None, body: object, kind: str) -> None:
    assert classify_order_lookup(status, body, order_hash=HASH).kind == kind


def test_the_official_trades_example_parses_with_the_prefix_dropped() -> None:
    page = parse_trades_page(fixture("official_docs_examples.json")["clob_user_trades"]["body"])
    (trade,) = page.trades
    assert trade.status == "CONFIRMED"
    assert trade.is_final
    assert trade.size == Decimal("100000000")
    assert trade.price == Decimal("0.5")
    assert page.next_cursor == "MTAw"


@pytest.mark.parametrize("raw", ["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"])
def test_every_trade_status_is_read_with_or_without_its_prefix(raw: str) -> None:
    for status in (raw, f"TRADE_STATUS_{raw}", raw.lower()):
        page = parse_trades_page({"data": [_trade(status=status)], "next_cursor": "LTE="})
        assert page.trades[0].status == raw
        assert page.trades[0].is_final == (raw in ("CONFIRMED", "FAILED"))
        assert page.next_cursor is None


def _trade(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": "trade-1",
        "taker_order_id": HASH,
        "market": CONDITION,
        "asset_id": TOKEN_NO,
        "side": "BUY",
        "size": "10",
        "fee_rate_bps": "0",
        "price": "0.56",
        "status": "MATCHED",
        "match_time": "1795260000",
        "last_update": "1795260000",
        "outcome": "No",
        "bucket_index": 0,
        "owner": "k",
        "maker_address": "0xabc",
        "transaction_hash": "",
        "trader_side": "TAKER",
        "maker_orders": [
            {"order_id": "0x" + "2" * 64, "matched_amount": "6", "price": "0.55", "maker_address": "0xdef"},
            {"order_id": "0x" + "3" * 64, "matched_amount": "4", "price": "0.56", "maker_address": "0xdef"},
        ],
    }
    row.update(overrides)
    return row


def test_a_trade_says_how_much_it_filled_for_an_order_as_taker_or_maker() -> None:
    (trade,) = parse_trades_page({"data": [_trade()]}).trades
    assert trade.size_for_order(HASH) == Decimal(10)
    assert trade.size_for_order("0x" + "3" * 64) == Decimal(4)
    assert trade.size_for_order("0x" + "9" * 64) == Decimal(0)


def test_a_trade_says_what_it_cost_an_order_and_only_the_taker_pays_a_fee() -> None:
    row = _trade(
        maker_orders=[
            *_trade()["maker_orders"],
            {"order_id": "0x" + "4" * 64, "matched_amount": "0.333333", "price": "0.57"},
        ]
    )
    row["size"] = "10.333333"
    (trade,) = parse_trades_page({"data": [row]}).trades
    fees = FeeSchedule(rate=Decimal("0.072"))
    # Per maker fill at its own price, floored to the unit: 3.3 + 2.24 + 0.18999981 -> 0.189999.
    assert trade.usdc_for_order(HASH) == Decimal("5.729999")
    assert trade.usdc_for_order("0x" + "3" * 64) == Decimal("2.24")
    # 6 x 0.072 x 0.55 x 0.45 = 0.10692; 4 x 0.072 x 0.2464 = 0.0709632 -> 0.07096; 0.00588239... -> 0.00588
    assert trade.taker_fee_for_order(HASH, fees=fees) == Decimal("0.10692") + Decimal("0.07096") + Decimal("0.00588")
    assert trade.taker_fee_for_order("0x" + "3" * 64, fees=fees) == 0
    assert trade.taker_fee_for_order(HASH, fees=FeeSchedule()) == 0


@pytest.mark.parametrize(
    "page",
    [
        {"data": [_trade(status="SETTLED")]},
        {"data": [_trade(size="ten")]},
        {"data": [_trade(maker_orders=[{"matched_amount": "1"}])]},
        {"data": [_trade(id="")]},
        {"data": "nope"},
        [],
    ],
)
def test_a_malformed_trade_page_is_refused_whole(page: object) -> None:
    with pytest.raises(UnexpectedAnswer):
        parse_trades_page(page)


def test_balances_are_base_units_and_decimals() -> None:
    parsed = parse_balance_allowance({"balance": "123450000", "allowances": {"0xE111": "1000000", "0xe222": 0}})
    assert parsed.balance_units == 123450000
    assert parsed.balance == Decimal("123.45")
    assert parsed.allowances == {"0xE111": Decimal(1), "0xe222": Decimal(0)}
    legacy = parse_balance_allowance({"balance": "5", "allowance": "7"})
    assert legacy.allowances_units == {"*": 7}
    with pytest.raises(UnexpectedAnswer):
        parse_balance_allowance({"balance": "1.5", "allowances": {}})


def test_books_are_normalised_best_first() -> None:
    book = parse_book(fixture("clob_book_response_pyclob_test.json"), token_id=TOKEN_NO)
    assert [level.price for level in book.bids] == [Decimal("0.5"), Decimal("0.33"), Decimal("0.31"), Decimal("0.15")]
    assert book.best_bid == Decimal("0.5")
    assert book.best_ask is None
    assert (book.tick_size, book.min_order_size, book.neg_risk) == (Decimal("0.01"), Decimal(100), False)
    real = fixture("clob_book_response_real_2026-08-03.json")
    parsed = parse_book(real, token_id=real["asset_id"])
    assert parsed.best_bid == Decimal("0.002")
    assert (parsed.tick_size, parsed.neg_risk, parsed.last_trade_price) == (Decimal("0.001"), True, None)
    with pytest.raises(UnexpectedAnswer):
        parse_book(real, token_id=TOKEN_NO)


def test_market_info_comes_from_the_compact_clob_market() -> None:
    body = fixture("official_docs_examples.json")["clob_market_info"]["body"]
    # JSON numbers reach us as Decimal (the transport parses floats as Decimal).
    body = dict(body, mts=Decimal("0.01"), fd={"r": Decimal("0.02"), "e": 2, "to": True})
    info = parse_clob_market(body, condition_id=CONDITION, accepting_orders=True)
    assert (info.tick_size, info.min_order_size, info.neg_risk) == (Decimal("0.01"), Decimal(5), False)
    assert (info.fees.rate, info.fees.exponent, info.fees.taker_only) == (Decimal("0.02"), Decimal(2), True)
    assert info.accepting_orders is True
    assert info.token_ids == frozenset({body["t"][0]["t"]})
    assert parse_clob_market(dict(body, nr=True), condition_id=CONDITION).neg_risk is True
    no_min = {k: v for k, v in body.items() if k != "mos"}
    assert parse_clob_market(no_min, condition_id=CONDITION, fallback_min_size=Decimal(15)).min_order_size == 15
    for broken in (dict(body, mts=Decimal("0.02")), dict(body, nr="yes"), no_min, dict(body, t=[{"t": "x"}])):
        with pytest.raises(UnexpectedAnswer):
            parse_clob_market(broken, condition_id=CONDITION)


def test_markets_by_token_gives_the_condition() -> None:
    assert parse_condition_id({"condition_id": CONDITION.upper().replace("0X", "0x")}) == (CONDITION, None)
    with pytest.raises(UnexpectedAnswer):
        parse_condition_id({"condition_id": "0x12"})


def test_statuses_are_normalised() -> None:
    assert normalize_status(" trade_status_mined ", prefix="TRADE_STATUS_") == "MINED"
