"""The one POST /order classifier, table-driven over every exact error string of the venue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.venue.classify import Classification, RawBody, classify_post_response
from tests.execution.venue.conftest import fixture

HASH = "0x078d7a47edd8934e83577a95dbbe275c97357ee9f4959546ba13fee9a21d365d"
FOK_KILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_KILLED = "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
DUPLICATED = "order is invalid. Duplicated. Same order has already been placed, can't be placed again"

# (http status, error text, kind, reason): every published error string, the
# duplicate-order answer, and the wording the simulated venue uses where none is published.
ERROR_TABLE = [
    (401, "Unauthorized/Invalid api key", "rejected", "unauthorized"),
    (401, "Invalid L1 Request headers", "rejected", "unauthorized"),
    (503, "Trading is currently disabled. Check polymarket.com for updates", "retry_later", "trading_disabled"),
    (
        503,
        "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed.",
        "retry_later",
        "cancel_only",
    ),
    (425, "the matching engine is restarting, retry later", "retry_later", "engine_restarting"),
    (429, "Too Many Requests", "retry_later", "rate_limited"),
    (400, "not enough balance / allowance", "rejected", "not_enough_balance"),
    (
        400,
        "not enough balance / allowance: the balance is not enough -> balance: 0, order amount: 5600000",
        "rejected",
        "not_enough_balance",
    ),
    (400, "invalid signature", "rejected", "invalid_signature"),
    (400, "the order signer address has to be the address of the API KEY", "rejected", "signer_not_api_key_owner"),
    (400, "the order owner has to be the owner of the API KEY", "rejected", "owner_not_api_key_owner"),
    (400, "maker address not allowed, please use the deposit wallet flow", "rejected", "maker_not_allowed"),
    (400, FOK_KILLED, "rejected", "killed"),
    (400, FAK_KILLED, "rejected", "killed"),
    (400, "invalid post-only order: order crosses book", "rejected", "post_only_would_cross"),
    (400, "post-only mode: only post-only orders and cancels are allowed", "retry_later", "post_only_mode"),
    (503, "post-only mode: only post-only orders and cancels are allowed", "retry_later", "post_only_mode"),
    (400, "the market is not yet ready to process new orders", "rejected", "market_not_ready"),
    (400, "invalid nonce", "rejected", "invalid_nonce"),
    (400, "invalid expiration", "rejected", "invalid_expiration"),
    (400, f"order {HASH} is invalid. Size (1.08) lower than the minimum: 5", "rejected", "below_min_size"),
    (
        400,
        f"order {HASH} is invalid. Price (0.98039) breaks minimum tick size rule: 0.001",
        "rejected",
        "price_off_tick",
    ),
    (400, "Price (0.98039) breaks minimum tick size rule: 0.001", "rejected", "price_off_tick"),
    (
        400,
        "invalid amounts, the buy orders maker amount supports a max accuracy of 4 decimals, taker amount a max of "
        "2 decimals",
        "rejected",
        "invalid_amounts",
    ),
    (
        400,
        "invalid amounts, the taker amount for a $0.22 order of size 19.69 should be '4.3318'",
        "rejected",
        "invalid_amounts",
    ),
    (400, "order_version_mismatch", "rejected", "order_version_mismatch"),
    (400, "Invalid order payload", "rejected", "invalid_payload"),
    (400, DUPLICATED, "unknown", "duplicate"),
    (400, "INVALID_ORDER_DUPLICATED", "unknown", "duplicate"),
    (400, "INVALID_ORDER_MIN_SIZE", "rejected", "below_min_size"),
    (400, "INVALID_ORDER_NOT_ENOUGH_BALANCE", "rejected", "not_enough_balance"),
    (400, "INVALID_ORDER_EXPIRATION", "rejected", "invalid_expiration"),
    (400, "INVALID_ORDER_MIN_TICK_SIZE", "rejected", "price_off_tick"),
    (400, "FOK_ORDER_NOT_FILLED_ERROR", "rejected", "killed"),
    (400, "MARKET_NOT_READY", "rejected", "market_not_ready"),
    (400, "EXECUTION_ERROR: could not run the execution", "unknown", "execution_error"),
    (400, "INVALID_ORDER_ERROR: could not insert order", "unknown", "insert_error"),
    (400, "DELAYING_ORDER_ERROR: error delaying the order", "unknown", "delay_error"),
    (400, "some refusal nobody documented", "rejected", "rejected"),
]


@pytest.mark.parametrize(("status", "message", "kind", "reason"), ERROR_TABLE, ids=[r[1][:48] for r in ERROR_TABLE])
def test_every_documented_error_string_as_error(status: int, message: str, kind: str, reason: str) -> None:
    verdict = classify_post_response(status, {"error": message})
    assert (verdict.kind, verdict.reason) == (kind, reason)
    assert verdict.http_status == status
    if status not in (425, 429):
        assert verdict.detail == message


@pytest.mark.parametrize(("status", "message", "kind", "reason"), ERROR_TABLE, ids=[r[1][:48] for r in ERROR_TABLE])
def test_every_documented_error_string_as_errormsg_of_a_refusal(
    status: int, message: str, kind: str, reason: str
) -> None:
    # The same text in the order-response shape: HTTP 200/400 with success false and errorMsg
    # (PMC loses errorMsg on a 400; we read it).
    body = {"success": False, "errorMsg": message, "orderID": "", "status": "", "makingAmount": "", "takingAmount": ""}
    for http in {200, status}:
        verdict = classify_post_response(http, body)
        if http == 503 and kind != "retry_later":
            assert verdict.kind == "unknown"
        else:
            assert (verdict.kind, verdict.reason) == (kind, reason), http


def _accepted(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "success": True,
        "errorMsg": "",
        "orderID": HASH,
        "status": "matched",
        "makingAmount": "25",
        "takingAmount": "44.6428",
        "tradeIDs": ["t-1", "t-2"],
        "transactionsHashes": [],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("status", ["live", "matched", "delayed"])
def test_it_accepts_only_per_the_sdk_rule(status: str) -> None:
    verdict = classify_post_response(200, _accepted(status=status))
    assert verdict == Classification(
        kind="placed",
        reason=status,
        http_status=200,
        order_id=HASH,
        status=status,
        making_amount=Decimal("25"),
        taking_amount=Decimal("44.6428"),
        trade_ids=("t-1", "t-2"),
        transaction_hashes=(),
    )
    assert verdict.is_final


def test_the_official_docs_response_example_is_placed() -> None:
    body = fixture("official_docs_examples.json")["post_order_response_v2"]["body"]
    verdict = classify_post_response(200, body)
    assert (verdict.kind, verdict.status, verdict.making_amount) == ("placed", "live", Decimal("100000000"))


def test_empty_amounts_mean_nothing_filled_yet() -> None:
    verdict = classify_post_response(200, _accepted(status="live", makingAmount="", takingAmount=""))
    assert (verdict.kind, verdict.making_amount, verdict.taking_amount) == ("placed", Decimal(0), Decimal(0))


def test_an_unmatched_marketable_order_is_killed_even_with_success_true() -> None:
    verdict = classify_post_response(200, _accepted(status="unmatched", makingAmount="", takingAmount=""))
    assert (verdict.kind, verdict.reason, verdict.status) == ("rejected", "killed", "unmatched")


def test_a_fak_kill_answered_200_with_success_false_is_killed() -> None:
    body = _accepted(success=False, errorMsg=FAK_KILLED, orderID="", status="", makingAmount="", takingAmount="")
    assert classify_post_response(200, body).reason == "killed"


def test_the_batch_refusal_shape_is_read_by_its_message() -> None:
    body = {"errorMsg": "invalid signature", "orderID": "", "takingAmount": "", "makingAmount": "", "status": ""}
    assert classify_post_response(200, dict(body, success=True)).reason == "invalid_signature"
    assert classify_post_response(200, dict(body, success=True, errorMsg=DUPLICATED)).kind == "unknown"


MALFORMED_2XX = {
    "not an object": ["success"],
    "no orderID": _accepted(orderID=""),
    "orderID not a string": _accepted(orderID=7),
    "unknown status": _accepted(status="pending"),
    "errorMsg next to an accepted status": _accepted(errorMsg="hm"),
    "success missing": {k: v for k, v in _accepted().items() if k != "success"},
    "success as a string": _accepted(success="true"),
    "amount missing": {k: v for k, v in _accepted().items() if k != "makingAmount"},
    "amount not a number": _accepted(makingAmount="lots"),
    "negative amount": _accepted(takingAmount="-1"),
    "tradeIDs not strings": _accepted(tradeIDs=[1, 2]),
    "error key only": {"error": "something"},
    "errorMsg not a string": _accepted(success=False, errorMsg={"code": 1}, orderID="", status=""),
    "success false without message": _accepted(success=False, errorMsg="", orderID="", status=""),
    "message next to an orderID": _accepted(success=True, errorMsg="invalid signature", status=""),
    "json null": None,
}


@pytest.mark.parametrize("body", MALFORMED_2XX.values(), ids=MALFORMED_2XX.keys())
def test_any_other_2xx_shape_is_unknown(body: object) -> None:
    verdict = classify_post_response(200, body)
    assert verdict.kind == "unknown"
    assert not verdict.is_final


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520])
def test_server_errors_are_unknown(status: int) -> None:
    assert classify_post_response(status, {"error": "Internal server error"}).kind == "unknown"
    assert classify_post_response(status, RawBody("<html>Bad gateway</html>")).kind == "unknown"
    assert classify_post_response(status, RawBody("")).kind == "unknown"


@pytest.mark.parametrize("status", [200, 400, 401, 404])
@pytest.mark.parametrize(
    "body",
    [RawBody(""), RawBody("<html>nope</html>"), {"error": 42}, {"error": ""}, {"error": None}, {"error": ["x"]}, []],
    ids=["empty", "html", "int error", "empty error", "null error", "list error", "list"],
)
def test_unreadable_empty_or_non_string_errors_are_unknown(status: int, body: object) -> None:
    assert classify_post_response(status, body).kind == "unknown"


def test_rate_limits_and_restarts_are_retry_later_whatever_the_body() -> None:
    for status in (425, 429):
        for body in ({"error": "Too Many Requests"}, RawBody(""), RawBody("<html/>"), None):
            verdict = classify_post_response(status, body)
            assert verdict.kind == "retry_later"


def test_a_transport_error_is_unknown() -> None:
    verdict = classify_post_response(None, RawBody("ReadTimeout: timed out"))
    assert (verdict.kind, verdict.reason, verdict.http_status) == ("unknown", "transport_error", None)
    assert classify_post_response(None, None).kind == "unknown"


def test_redirects_and_informational_statuses_are_unknown() -> None:
    for status in (100, 301, 302, 304):
        assert classify_post_response(status, {"error": "moved"}).kind == "unknown"


def test_never_sent_is_retry_later_not_placed() -> None:
    verdict = Classification.not_sent("ConnectError: [Errno 111] Connection refused")
    assert (verdict.kind, verdict.reason, verdict.is_final) == ("retry_later", "not_sent", False)
