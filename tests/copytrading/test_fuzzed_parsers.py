"""S36 (docs/reliability.md): every parser of what comes from outside — leader feeds (Data API rows,
chain logs), venue answers (order POSTs, order lookups, trade pages) — fuzzed with Hypothesis from
real shapes: truncated JSON, NaN, 1e309, negative sizes, strings for numbers, huge arrays, unknown
statuses. Each either refuses with its typed error or returns values the pipeline can trust, and
an answer it does not understand never reads as a success (nor as a verdict that ends a copy).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from copytrading.detection.data_api import MalformedRow, loads, parse_trade_row
from copytrading.detection.onchain import LogDecodeError, decode_order_filled
from execution.venue.classify import ACCEPTED_STATUSES, RawBody, classify_post_response
from execution.venue.errors import UnexpectedAnswer
from execution.venue.lookup import (
    DEAD_ORDER_STATUSES,
    OPEN_ORDER_STATUSES,
    TRADE_STATUSES,
    classify_order_lookup,
    parse_trades_page,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HASH = "0x" + "ab" * 32
# What the venue documents an order can be (its order lookup answers; the simulator adds UNMATCHED).
DOCUMENTED_ORDER_STATUSES = OPEN_ORDER_STATUSES | DEAD_ORDER_STATUSES | {"MATCHED"}

ODD = st.sampled_from(
    [None, "", " ", "NaN", "nan", "Infinity", "-Infinity", "1e309", "-1", "-0.5", "0", "abc", "0x", "9" * 400]
) | st.sampled_from([True, False, -3, 0, 10**30, [], {}, [1] * 1000, float("nan"), float("inf"), -1.5, 1e309])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
# Derandomized: CI explores the same 300 cases every run (a failure is reproducible, never flaky).
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def mutations(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with some fields replaced by odd values, some removed and some added."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out = dict(base)
        for key in draw(st.lists(st.sampled_from(sorted(base)), max_size=len(base), unique=True)):
            out[key] = draw(ODD | JSON)
        for key in draw(st.lists(st.sampled_from(sorted(base)), max_size=2, unique=True)):
            out.pop(key, None)
        out.update(draw(st.dictionaries(st.text(max_size=8), JSON, max_size=2)))
        return out

    return build()


def through_text(value: object) -> st.SearchStrategy[object]:
    """The value as it arrives: whole, or its JSON text cut anywhere (then read as the client does)."""
    text = json.dumps(value, default=str)

    def cut(n: int) -> object:
        try:
            return loads(text[:n])
        except ValueError:
            return RawBody(text[:n])

    return st.just(value) | st.integers(0, len(text)).map(cut)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


TRADE_ROW = fixture("data_api_v1_trades_example_2026.json")[0]
CHAIN_LOG = fixture("onchain_orderfilled_v2_real_rows_with_reconstructed_logs.json")["items"][0][
    "reconstructed_raw_log"
]
PLACED = {
    "success": True,
    "errorMsg": "",
    "orderID": HASH,
    "status": "matched",
    "makingAmount": "10",
    "takingAmount": "17.54",
    "tradeIDs": ["trade-1"],
    "transactionsHashes": [],
}
ORDER = {
    "id": HASH,
    "status": "MATCHED",
    "size_matched": "17.54",
    "original_size": "17.54",
    "price": "0.57",
    "side": "BUY",
    "asset_id": "1" * 77,
    "maker_address": "0x" + "12" * 20,
    "order_type": "FAK",
    "associate_trades": ["trade-1"],
}
TRADE = {
    "id": "trade-1",
    "status": "CONFIRMED",
    "taker_order_id": HASH,
    "side": "BUY",
    "size": "17.54",
    "price": "0.57",
    "asset_id": "1" * 77,
    "maker_orders": [{"order_id": "0x" + "cd" * 32, "matched_amount": "17.54", "price": "0.57"}],
}
STATUS = st.none() | st.sampled_from([200, 201, 204, 400, 401, 404, 425, 429, 500, 502, 503]) | st.integers(100, 599)
# Mostly answers that arrived (2xx): the interesting ones.
ANSWERED = st.sampled_from([200, 200, 200, 201]) | STATUS
NUMBERS = ODD | st.decimals(allow_nan=True, allow_infinity=True).map(str) | st.integers(-(10**20), 10**20)
WORDS = st.text(min_size=1, max_size=16) | st.sampled_from(
    ["matched", "live", "delayed", "unmatched", "MATCHED", "LIVE"]
)


def targeted(base: dict[str, Any], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with exactly these fields drawn from their strategies (statuses, amounts)."""
    return st.fixed_dictionaries({key: st.just(value) for key, value in base.items()} | fields)


@FUZZ
@example(row={**TRADE_ROW, "timestamp": 10**30})  # found by this test: OverflowError
@given(row=mutations(TRADE_ROW) | targeted(TRADE_ROW, size=NUMBERS, price=NUMBERS, side=WORDS))
def test_s36_a_data_api_row_is_refused_with_malformed_row_or_read_as_a_sane_trade(row: dict[str, Any]) -> None:
    """Failed before the fix: a timestamp past year 9999 was accepted, and turning the row into a
    trade then raised OverflowError in the poller instead of the row being refused."""
    try:
        parsed = parse_trade_row(row)
    except MalformedRow:
        return
    assert parsed.side in ("BUY", "SELL")
    assert isinstance(parsed.size, Decimal)
    assert parsed.size.is_finite()
    assert parsed.size > 0
    assert isinstance(parsed.price, Decimal)
    assert 0 < parsed.price < 1
    assert isinstance(parsed.timestamp, int)
    assert parsed.timestamp > 0
    assert parsed.observation().usdc == parsed.size * parsed.price


@FUZZ
@given(text=st.integers(0, len(json.dumps(TRADE_ROW, default=str))))
def test_s36_a_data_api_answer_cut_anywhere_is_refused_as_json_or_as_a_row(text: int) -> None:
    raw = json.dumps([TRADE_ROW], default=str)[:text]
    try:
        rows = loads(raw)
    except ValueError:
        return
    for row in rows if isinstance(rows, list) else [rows]:
        try:
            parse_trade_row(row) if isinstance(row, dict) else None
        except MalformedRow:
            continue


@FUZZ
@given(log=mutations(CHAIN_LOG))
def test_s36_a_chain_log_is_refused_with_a_decode_error_or_read_as_a_sane_fill(log: dict[str, Any]) -> None:
    try:
        fill = decode_order_filled(log)
    except LogDecodeError:
        return
    assert fill.side in ("BUY", "SELL")
    assert fill.shares >= 0
    assert fill.usdc >= 0
    assert fill.price is None or fill.price >= 0


@FUZZ
@given(
    status=ANSWERED,
    body=mutations(PLACED).flatmap(through_text)
    | targeted(PLACED, status=WORDS, makingAmount=NUMBERS, takingAmount=NUMBERS)
    | JSON
    | st.text(max_size=50).map(RawBody),
)
@example(status=200, body={**PLACED, "status": []})  # found by this test: TypeError
def test_s36_an_order_post_answer_is_placed_only_when_it_is_exactly_a_placed_answer(
    status: int | None, body: object
) -> None:
    answer = classify_post_response(status, body)
    assert answer.kind in ("placed", "rejected", "unknown", "retry_later")
    if answer.kind != "placed":
        return
    assert status is not None
    assert 200 <= status < 300
    assert isinstance(body, dict)
    assert body["success"] is True
    assert body["errorMsg"] == ""
    assert body["status"] in ACCEPTED_STATUSES
    assert answer.order_id
    for amount in (answer.making_amount, answer.taking_amount):
        assert amount is not None
        assert amount.is_finite()
        assert amount >= 0


@FUZZ
@given(
    status=ANSWERED,
    body=mutations(ORDER).flatmap(through_text)
    | targeted(ORDER, status=WORDS | st.sampled_from(sorted(DOCUMENTED_ORDER_STATUSES)), size_matched=NUMBERS)
    | JSON
    | st.text(max_size=50).map(RawBody),
)
def test_s36_an_order_lookup_is_found_only_with_a_status_the_venue_documents_and_a_sane_size(
    status: int | None, body: object
) -> None:
    """Found means the reconciler acts on it (records a fill, or ends the copy): an answer it does
    not understand must stay unknown and be asked again. Failed before the fix: an unknown status
    (with or without shares matched) was found, and the reconciler ended the copy as REJECTED
    "venue: <status>", a copy that may have traded; a negative size_matched was found too."""
    lookup = classify_order_lookup(status, body, order_hash=HASH)
    assert lookup.kind in ("found", "not_found", "unknown")
    if lookup.kind != "found":
        return
    assert lookup.order is not None
    assert lookup.order.status in DOCUMENTED_ORDER_STATUSES, lookup.order.status
    assert lookup.order.size_matched.is_finite()
    assert lookup.order.size_matched >= 0


@FUZZ
@given(
    trade=mutations(TRADE) | targeted(TRADE, status=WORDS, size=NUMBERS, price=NUMBERS),
    huge=st.booleans(),
)
def test_s36_a_trades_page_is_refused_whole_or_read_with_known_statuses_and_sane_amounts(
    trade: dict[str, Any], huge: bool
) -> None:
    """Failed before the fix: a negative size or price on a trade (or a maker fill) was read as is."""
    body = {"data": [trade] * (2_000 if huge else 1), "next_cursor": "LTE="}
    try:
        page = parse_trades_page(body)
    except UnexpectedAnswer:
        return
    for row in page.trades:
        assert row.status in TRADE_STATUSES
        assert row.size >= 0
        assert row.price >= 0
        assert all(m.matched_amount >= 0 for m in row.maker_orders)
        assert all(m.price >= 0 for m in row.maker_orders)
