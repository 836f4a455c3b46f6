"""The venue over HTTP: public shapes, L1/L2 auth, batches, pagination and every fault kind."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import pytest

from execution.simulator import VenueSimulator

from .support import (
    ADDR0,
    CID,
    NR_CID,
    NR_YES,
    PK0,
    PK1,
    YES,
    ShiftedClock,
    body,
    compact,
    l1_headers,
    l2_headers,
    limit_amounts,
    scenario,
    sign_order,
)


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def served(clock: ShiftedClock) -> Iterator[VenueSimulator]:
    with VenueSimulator(scenario(), clock=clock) as running:
        running.set_book(YES, bids=[("0.55", "100"), ("0.54", "50")], asks=[("0.57", "100"), ("0.58", "200")])
        yield running


@pytest.fixture
def http(served: VenueSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=5) as client:
        yield client


def post_signed(http: httpx.Client, served: VenueSimulator, path: str, payload: object) -> httpx.Response:
    creds = served.credentials(ADDR0)
    text = compact(payload)
    return http.post(path, content=text, headers=l2_headers(creds, ADDR0, "POST", path, text))


def get_signed(http: httpx.Client, served: VenueSimulator, path: str, **params: str) -> httpx.Response:
    creds = served.credentials(ADDR0)
    return http.get(path, params=params, headers=l2_headers(creds, ADDR0, "GET", path))


def limit_buy(price: str = "0.50", shares: str = "10") -> dict[str, object]:
    maker_amount, taker_amount = limit_amounts("BUY", price, shares)
    return sign_order(PK0, token_id=YES, side="BUY", maker_amount=maker_amount, taker_amount=taker_amount)


def test_it_answers_the_public_endpoints_in_polymarkets_shapes(http: httpx.Client) -> None:
    assert http.get("/ok").json() == "OK"
    assert http.get("/version").json() == {"version": 2}
    assert abs(http.get("/time").json() - time.time()) < 5
    book = http.get("/book", params={"token_id": YES}).json()
    assert book["bids"] == [{"price": "0.54", "size": "50"}, {"price": "0.55", "size": "100"}]
    assert book["asks"] == [{"price": "0.58", "size": "200"}, {"price": "0.57", "size": "100"}]
    assert (book["market"], book["asset_id"], book["tick_size"], book["min_order_size"]) == (CID, YES, "0.01", "5")
    assert (book["neg_risk"], book["last_trade_price"]) == (False, "")
    assert len(book["hash"]) == 40
    assert book["timestamp"].isdecimal()
    assert http.get("/tick-size", params={"token_id": NR_YES}).json() == {"minimum_tick_size": 0.001}
    assert http.get("/neg-risk", params={"token_id": NR_YES}).json() == {"neg_risk": True}
    info = http.get(f"/clob-markets/{NR_CID}").json()
    assert (info["mts"], info["mos"], info["nr"], info["fd"]) == (0.001, 5, True, {"r": 0, "e": 1, "to": True})
    assert [t["t"] for t in info["t"]] == [NR_YES, info["t"][1]["t"]]
    assert "nr" not in http.get(f"/clob-markets/{CID}").json()
    assert http.get(f"/markets-by-token/{YES}").json()["condition_id"] == CID
    assert http.get("/midpoint", params={"token_id": YES}).json() == {"mid": "0.56"}


def test_it_refuses_unknown_tokens_and_markets_with_the_real_errors(http: httpx.Client) -> None:
    unknown = http.get("/book", params={"token_id": "1" * 77})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "No orderbook exists for the requested token id"})
    malformed = http.get("/book", params={"token_id": "abc"})
    assert (malformed.status_code, malformed.json()) == (400, {"error": "Invalid token id"})
    missing = http.get("/clob-markets/0x" + "12" * 32)
    assert (missing.status_code, missing.json()) == (404, {"error": "market not found"})


def test_it_creates_api_keys_once_per_nonce_and_derives_them_deterministically(http: httpx.Client) -> None:
    created = http.post("/auth/api-key", headers=l1_headers(PK0))
    assert created.status_code == 200
    assert set(created.json()) == {"apiKey", "secret", "passphrase"}
    again = http.post("/auth/api-key", headers=l1_headers(PK0))
    assert (again.status_code, again.json()) == (400, {"error": "Could not create api key"})
    assert http.get("/auth/derive-api-key", headers=l1_headers(PK0)).json() == created.json()
    other_nonce = http.post("/auth/api-key", headers=l1_headers(PK0, nonce=7)).json()
    assert other_nonce["apiKey"] != created.json()["apiKey"]
    never = http.get("/auth/derive-api-key", headers=l1_headers(PK1))
    assert (never.status_code, never.json()) == (400, {"error": "Could not derive api key!"})


@pytest.mark.parametrize("tamper", ["signature", "address", "stale"])
def test_it_refuses_bad_l1_headers(http: httpx.Client, tamper: str) -> None:
    headers = l1_headers(PK0, timestamp=int(time.time()) - 3600 if tamper == "stale" else None)
    if tamper == "signature":
        headers["POLY_SIGNATURE"] = l1_headers(PK1)["POLY_SIGNATURE"]
    if tamper == "address":
        headers["POLY_ADDRESS"] = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    refused = http.post("/auth/api-key", headers=headers)
    assert (refused.status_code, refused.json()) == (401, {"error": "Invalid L1 Request headers"})


def test_it_lists_the_api_keys_of_the_l2_caller(http: httpx.Client, served: VenueSimulator) -> None:
    creds = served.credentials(ADDR0)
    assert get_signed(http, served, "/auth/api-keys").json() == {"apiKeys": [creds.key]}


@pytest.mark.parametrize("tamper", ["passphrase", "secret", "body", "address"])
def test_it_refuses_l2_headers_that_do_not_add_up(http: httpx.Client, served: VenueSimulator, tamper: str) -> None:
    creds = served.credentials(ADDR0)
    text = compact(body(limit_buy(), creds.key))
    headers = l2_headers(creds, ADDR0, "POST", "/order", text)
    if tamper == "passphrase":
        headers["POLY_PASSPHRASE"] = "0" * 64
    if tamper == "secret":
        headers = l2_headers(
            type(creds)(creds.key, base64.urlsafe_b64encode(b"x" * 32).decode(), creds.passphrase, creds.address, 0),
            ADDR0,
            "POST",
            "/order",
            text,
        )
    if tamper == "body":
        text = text.replace('"GTC"', '"FOK"')
    if tamper == "address":
        headers["POLY_ADDRESS"] = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    refused = http.post("/order", content=text, headers=headers)
    assert (refused.status_code, refused.json()) == (401, {"error": "Unauthorized/Invalid api key"})


def test_it_refuses_a_replayed_l2_header_once_outside_the_window(
    http: httpx.Client, served: VenueSimulator, clock: ShiftedClock
) -> None:
    creds = served.credentials(ADDR0)
    headers = l2_headers(creds, ADDR0, "GET", "/data/orders")
    assert http.get("/data/orders", headers=headers).status_code == 200
    clock.offset = 31
    replayed = http.get("/data/orders", headers=headers)
    assert (replayed.status_code, replayed.json()) == (401, {"error": "Unauthorized/Invalid api key"})


def test_it_places_fetches_lists_and_cancels_an_order_over_http(http: httpx.Client, served: VenueSimulator) -> None:
    placed = post_signed(http, served, "/order", body(limit_buy(), served.credentials(ADDR0).key))
    assert placed.status_code == 200
    answer = placed.json()
    assert set(answer) == {
        "success",
        "orderID",
        "status",
        "makingAmount",
        "takingAmount",
        "errorMsg",
        "tradeIDs",
        "transactionsHashes",
    }
    order_id = answer["orderID"]
    fetched = get_signed(http, served, f"/data/order/{order_id}").json()
    assert (fetched["id"], fetched["status"], fetched["order_type"], fetched["expiration"]) == (
        order_id,
        "LIVE",
        "GTC",
        "0",
    )
    listed = get_signed(http, served, "/data/orders").json()
    assert (listed["next_cursor"], [o["id"] for o in listed["data"]]) == ("LTE=", [order_id])
    creds = served.credentials(ADDR0)
    text = compact({"orderID": order_id})
    cancelled = http.request(
        "DELETE", "/order", content=text, headers=l2_headers(creds, ADDR0, "DELETE", "/order", text)
    )
    assert cancelled.json() == {"canceled": [order_id], "not_canceled": {}}
    assert get_signed(http, served, "/data/order/0x" + "77" * 32).json() is None


def test_it_answers_a_fak_that_finds_nothing_with_http_400(http: httpx.Client, served: VenueSimulator) -> None:
    order = sign_order(PK0, token_id=YES, side="BUY", maker_amount=5_000_000, taker_amount=10_000_000)
    refused = post_signed(http, served, "/order", body(order, served.credentials(ADDR0).key, "FAK"))
    assert (refused.status_code, refused.json()) == (
        400,
        {
            "error": "no orders found to match with FAK order. "
            "FAK orders are partially filled or killed if no match is found."
        },
    )


def test_it_takes_up_to_fifteen_orders_in_a_batch_and_answers_each(http: httpx.Client, served: VenueSimulator) -> None:
    key = served.credentials(ADDR0).key
    too_many = post_signed(http, served, "/orders", [body(limit_buy(), key) for _ in range(16)])
    assert (too_many.status_code, too_many.json()) == (
        400,
        {"error": "Too many orders in payload: 16, max allowed: 15"},
    )
    good = body(limit_buy(), key)
    answers = post_signed(http, served, "/orders", [good, good, body(limit_buy(), "someone-else")]).json()
    assert answers[0]["success"] is True
    assert answers[0]["status"] == "live"
    assert answers[1]["errorMsg"].startswith("order is invalid. Duplicated.")
    assert answers[2] == {
        "errorMsg": "the order owner has to be the owner of the API KEY",
        "orderID": "",
        "takingAmount": "",
        "makingAmount": "",
        "status": "",
        "success": True,
    }


def test_it_pages_account_trades_with_base64_offsets(http: httpx.Client, served: VenueSimulator) -> None:
    key = served.credentials(ADDR0).key
    for _ in range(101):
        order = sign_order(PK0, token_id=YES, side="BUY", maker_amount=1_140_000, taker_amount=2_000_000)
        assert post_signed(http, served, "/order", body(order, key, "FAK")).status_code == 200
    first = get_signed(http, served, "/data/trades").json()
    assert (first["count"], first["next_cursor"]) == (100, base64.b64encode(b"100").decode())
    assert first["data"][0]["trader_side"] == "TAKER"
    assert first["data"][0]["status"] == "MATCHED"
    second = get_signed(http, served, "/data/trades", next_cursor=first["next_cursor"]).json()
    assert (second["count"], second["next_cursor"]) == (1, "LTE=")


def test_it_reports_balances_of_the_wallet_the_signature_type_implies(
    http: httpx.Client, served: VenueSimulator
) -> None:
    served.set_balance("0xd93B25cb943D14d0d34FBaF01Fc93a0f8b5F6E47", pusd="12.5")
    eoa = get_signed(http, served, "/balance-allowance", asset_type="COLLATERAL", signature_type="0").json()
    assert eoa["balance"] == "1000000000"
    safe = get_signed(http, served, "/balance-allowance", asset_type="COLLATERAL", signature_type="2").json()
    assert safe["balance"] == "12500000"
    assert set(safe["allowances"]) >= {"0xE111180000d2663C0091e4f400237545B87B996B"}
    shares = get_signed(http, served, "/balance-allowance/update", asset_type="CONDITIONAL", token_id=YES).json()
    assert shares["balance"] == "0"


def test_it_serves_the_data_api_on_the_same_port(http: httpx.Client, served: VenueSimulator) -> None:
    leader = "0x2a1441dc244432d268a103fd7d4a5559813f0762"
    served.inject_leader_trade(leader, YES, "BUY", "12.5", "0.57", timestamp=1725424759)
    rows = http.get("/trades", params={"user": leader}).json()
    assert [(r["size"], r["price"], r["timestamp"]) for r in rows] == [(12.5, 0.57, 1725424759)]
    assert http.get("/activity", params={"user": leader}).json()[0]["usdcSize"] == 7.125
    assert http.get("/deployed", params={"address": ADDR0, "type": "SAFE"}).json() == {"deployed": True}


# -- faults --------------------------------------------------------------------------------------


def test_it_delays_before_and_after_handling(http: httpx.Client, served: VenueSimulator) -> None:
    served.add_fault("delay", "GET /ok", delay_ms=200)
    started = time.monotonic()
    assert http.get("/ok").status_code == 200
    assert time.monotonic() - started >= 0.2
    served.add_fault("delay_after", "POST /order", delay_ms=300)
    payload = body(limit_buy(), served.credentials(ADDR0).key)
    with httpx.Client(base_url=served.url, timeout=0.1) as impatient, pytest.raises(httpx.ReadTimeout):
        post_signed(impatient, served, "/order", payload)
    assert len(served.orders()) == 1  # committed even though the client gave up


def test_a_delayed_order_is_committed_after_the_wait_even_when_the_client_gave_up_during_it(
    served: VenueSimulator,
) -> None:
    """Issue 17, fix 6: the ``delay`` fault did not commit the order after the wait, as
    docs/simulator.md says: a client that timed out during the wait closed the connection, aiohttp
    failed the unread body, and the order was never handled. A request the venue has received is
    handled, whoever is still listening ("answer lost after commit")."""
    served.add_fault("delay", "POST /order", delay_ms=400)
    payload = body(limit_buy(), served.credentials(ADDR0).key)
    with httpx.Client(base_url=served.url, timeout=0.1) as impatient, pytest.raises(httpx.ReadTimeout):
        post_signed(impatient, served, "/order", payload)
    assert served.orders() == []  # still waiting: the order is handled only after the delay
    deadline = time.monotonic() + 10
    while not served.orders() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [o["status"] for o in served.orders()] == ["LIVE"]


def test_it_drops_the_response_after_committing(http: httpx.Client, served: VenueSimulator) -> None:
    served.add_fault("drop", "POST /order")
    with pytest.raises(httpx.RemoteProtocolError):
        post_signed(http, served, "/order", body(limit_buy(), served.credentials(ADDR0).key))
    assert [o["status"] for o in served.orders()] == ["LIVE"]


def test_it_answers_5xx_before_or_after_committing(http: httpx.Client, served: VenueSimulator) -> None:
    key = served.credentials(ADDR0).key
    served.add_fault("error_before", "POST /order", status=502)
    before = post_signed(http, served, "/order", body(limit_buy(), key))
    assert (before.status_code, before.json()) == (502, {"error": "Internal server error"})
    assert served.orders() == []
    served.add_fault("error_after", "POST /order")
    after = post_signed(http, served, "/order", body(limit_buy(), key))
    assert after.status_code == 500
    assert len(served.orders()) == 1


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [
        ("rate_limit", 429, "Too Many Requests"),
        ("too_early", 425, "the matching engine is restarting, retry later"),
        ("cancel_only", 503, "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed."),
        ("trading_disabled", 503, "Trading is currently disabled. Check polymarket.com for updates"),
        ("post_only", 503, "post-only mode: only post-only orders and cancels are allowed"),
    ],
)
def test_it_refuses_with_each_status_fault_without_committing(
    http: httpx.Client, served: VenueSimulator, kind: str, status: int, error: str
) -> None:
    served.add_fault(kind, "POST /order", retry_after_s=3)
    refused = post_signed(http, served, "/order", body(limit_buy(), served.credentials(ADDR0).key))
    assert (refused.status_code, refused.json()["error"]) == (status, error)
    if kind in ("rate_limit", "too_early", "post_only"):
        assert refused.headers["Retry-After"] == "3"
    assert served.orders() == []
    assert post_signed(http, served, "/order", body(limit_buy(), served.credentials(ADDR0).key)).status_code == 200


def test_it_fires_faults_by_count_probability_and_route_template(http: httpx.Client, served: VenueSimulator) -> None:
    served.add_fault("rate_limit", "GET /book", count=2)
    statuses = [http.get("/book", params={"token_id": YES}).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    served.add_fault("rate_limit", "*", count=None, probability=0.0)
    assert all(http.get("/ok").status_code == 200 for _ in range(20))
    served.clear_faults()
    served.add_fault("error_before", "GET /data/order/{order_id}")
    assert get_signed(http, served, "/data/order/0x" + "11" * 32).status_code == 500


def test_it_keeps_cancels_open_in_cancel_only_mode(http: httpx.Client, served: VenueSimulator) -> None:
    key = served.credentials(ADDR0).key
    order_id = post_signed(http, served, "/order", body(limit_buy(), key)).json()["orderID"]
    served.set_trading_mode("cancel_only")
    refused = post_signed(http, served, "/order", body(limit_buy(), key))
    assert (refused.status_code, refused.json()["error"]) == (
        503,
        "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed.",
    )
    creds = served.credentials(ADDR0)
    text = compact([order_id])
    cancelled = http.request(
        "DELETE", "/orders", content=text, headers=l2_headers(creds, ADDR0, "DELETE", "/orders", text)
    )
    assert cancelled.json()["canceled"] == [order_id]


def test_it_is_driven_through_the_control_endpoints(http: httpx.Client, served: VenueSimulator) -> None:
    added = http.post("/_sim/faults", json={"kind": "rate_limit", "endpoint": "GET /ok", "count": 1}).json()
    assert added[0]["kind"] == "rate_limit"
    assert http.get("/ok").status_code == 429
    http.post("/_sim/balances", json={"address": ADDR0, "pusd": "7", "shares": {YES: "3"}})
    assert http.get(f"/_sim/balances/{ADDR0}").json() == {"pusd": 7, "shares": {YES: 3}, "approved": True}
    http.post(
        "/_sim/leader-trades", json={"wallet": ADDR0, "token_id": YES, "side": "BUY", "size": "1", "price": "0.5"}
    )
    assert len(http.get("/trades", params={"user": ADDR0}).json()) == 1
    http.post("/_sim/version", json={"version": 3})
    assert http.get("/version").json() == {"version": 3}
    http.post("/_sim/mode", json={"mode": "disabled"})
    assert http.get("/_sim/state").json()["trading_mode"] == "disabled"
    http.post("/_sim/reset")
    assert http.get("/_sim/state").json()["markets"] == 0
    bad = http.post("/_sim/faults", json={"kind": "gremlins"})
    assert bad.status_code == 400
