"""The gateway against real local HTTP peers: placed / rejected / unknown / never sent, reads.

The peers check what a venue checks (exact body bytes, L2 HMAC over them, the EIP-712 digest
computed independently with eth_account), so a bug in our signing or transport shows here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.conf import settings
from eth_account.messages import _hash_eip191_message, encode_typed_data
from polymarket._internal.environment import EnvironmentConfig
from polymarket._internal.hmac import build_hmac_signature

from execution.venue.auth import ApiCredentials
from execution.venue.classify import Classification
from execution.venue.environment import configured_sdk_config
from execution.venue.errors import AnswerLost, CredentialsMismatch, NotSent, VenueRefused, VenueUnavailable
from execution.venue.gateway import default_gateway
from execution.venue.orders import OrderRequest
from execution.venue.payload import SignedOrderPayload
from execution.venue.polymarket import PolymarketGateway
from execution.venue.services import post_signed
from execution.venue.signing import sign_order_with_key
from execution.venue.transport import new_client, send
from tests.execution.venue.conftest import (
    ADDRESS_0,
    API_KEY,
    API_PASSPHRASE,
    API_SECRET,
    KEY_0,
    fixture,
    market,
    venue_settings,
)
from tests.execution.venue.localserver import (
    Handler,
    HangUpServer,
    LocalVenue,
    Reply,
    Request,
    SilentServer,
    closed_port,
    serve,
)
from tests.factories import TOKEN_YES

CREDS = ApiCredentials(key=API_KEY, secret=API_SECRET, passphrase=API_PASSPHRASE)
ORDER_TYPES = fixture("signing_vectors_v2_v3_order_eoa_computed.json")["eip712"]["types"]
FAK_KILLED = "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."


def _venue_digest(body: dict[str, object], exchange: str) -> str:
    """The order hash as a venue computes it, with eth_account (independent of our hashing)."""
    order = body["order"]
    assert isinstance(order, dict)
    message = {
        "salt": order["salt"],
        "maker": order["maker"],
        "signer": order["signer"],
        "tokenId": int(order["tokenId"]),
        "makerAmount": int(order["makerAmount"]),
        "takerAmount": int(order["takerAmount"]),
        "side": 0 if order["side"] == "BUY" else 1,
        "signatureType": order["signatureType"],
        "timestamp": int(order["timestamp"]),
        "metadata": bytes.fromhex(str(order["metadata"])[2:]),
        "builder": bytes.fromhex(str(order["builder"])[2:]),
    }
    typed = {
        "types": ORDER_TYPES,
        "primaryType": "Order",
        "domain": {"name": "Polymarket CTF Exchange", "version": "2", "chainId": 137, "verifyingContract": exchange},
        "message": message,
    }
    return "0x" + _hash_eip191_message(encode_typed_data(full_message=typed)).hex()


def _checked_post(reply_for: dict[str, object] | None = None, *, status: int = 200) -> Handler:
    def answer(request: Request) -> Reply:
        headers = {k.upper(): v for k, v in request.headers.items()}
        expected = build_hmac_signature(
            secret=API_SECRET,
            timestamp=int(headers["POLY_TIMESTAMP"]),
            method="POST",
            path="/order",
            body=request.body.decode(),
        )
        if headers.get("POLY_SIGNATURE") != expected or headers.get("POLY_API_KEY") != API_KEY:
            return Reply(status=401, body={"error": "Unauthorized/Invalid api key"})
        if headers.get("POLY_ADDRESS") != ADDRESS_0 or headers.get("POLY_PASSPHRASE") != API_PASSPHRASE:
            return Reply(status=401, body={"error": "Unauthorized/Invalid api key"})
        body = json.loads(request.body)
        if reply_for is not None:
            return Reply(status=status, body=reply_for)
        order_id = _venue_digest(body, "0xE111180000d2663C0091e4f400237545B87B996B")
        return Reply(
            body={
                "success": True,
                "errorMsg": "",
                "orderID": order_id,
                "status": "matched",
                "makingAmount": "25",
                "takingAmount": "43.859649",
                "tradeIDs": ["trade-1"],
                "transactionsHashes": [],
            }
        )

    return answer


@pytest.fixture
def venue(local_venue: LocalVenue) -> LocalVenue:
    local_venue.route("GET", "/version", Reply(body={"version": 2}))
    local_venue.route("GET", "/time", Reply(body=1795260000))
    return local_venue


@pytest.fixture
def payload(config: EnvironmentConfig) -> SignedOrderPayload:
    request = OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal(25), max_price=Decimal("0.57"))
    return sign_order_with_key(
        private_key=KEY_0, api_key=API_KEY, funder=ADDRESS_0, request=request, market=market(), config=config
    )


def _gateway(url: str, *, read: str = "0.5") -> PolymarketGateway:
    return PolymarketGateway(venue_settings(url, read=read), record_health=False)


def test_a_signed_order_is_placed_with_the_hash_we_computed_before_sending(
    venue: LocalVenue, payload: SignedOrderPayload
) -> None:
    venue.route("POST", "/order", _checked_post())
    verdict = post_signed(payload=payload.to_json(), creds=CREDS, gateway=_gateway(venue.url))
    assert verdict.kind == "placed", verdict
    assert verdict.order_id == payload.order_hash
    assert (verdict.status, verdict.making_amount, verdict.trade_ids) == ("matched", Decimal(25), ("trade-1",))
    (sent,) = [r for r in venue.requests if r.path == "/order"]
    assert sent.body == payload.body.encode()


def test_a_repost_sends_the_same_bytes_with_fresh_headers(venue: LocalVenue, payload: SignedOrderPayload) -> None:
    venue.route("POST", "/order", _checked_post())
    gateway = _gateway(venue.url)
    stored = json.loads(json.dumps(payload.to_json(), sort_keys=True))
    first = post_signed(payload=stored, creds=CREDS, gateway=gateway)
    second = post_signed(payload=stored, creds=CREDS, gateway=gateway)
    bodies = [r.body for r in venue.requests if r.path == "/order"]
    assert bodies == [payload.body.encode(), payload.body.encode()]
    assert first.order_id == second.order_id == payload.order_hash


@pytest.mark.parametrize(
    ("status", "answer", "kind", "reason"),
    [
        (400, {"error": FAK_KILLED}, "rejected", "killed"),
        (400, {"error": "not enough balance / allowance"}, "rejected", "not_enough_balance"),
        (400, {"error": "order is invalid. Duplicated."}, "unknown", "duplicate"),
        (
            503,
            {"error": "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed."},
            "retry_later",
            "cancel_only",
        ),
        (429, {"error": "Too Many Requests"}, "retry_later", "rate_limited"),
        (500, {"error": "Internal server error"}, "unknown", "server_error"),
    ],
)
def test_venue_refusals_are_classified_by_the_one_classifier(
    venue: LocalVenue, payload: SignedOrderPayload, status: int, answer: dict[str, object], kind: str, reason: str
) -> None:
    venue.route("POST", "/order", _checked_post(answer, status=status))
    verdict = _gateway(venue.url).place(payload, creds=CREDS)
    assert (verdict.kind, verdict.reason, verdict.http_status) == (kind, reason, status)


def test_a_read_timeout_after_sending_is_unknown(venue: LocalVenue, payload: SignedOrderPayload) -> None:
    venue.route("POST", "/order", Reply(body={"success": True}, delay=1.0))
    verdict = _gateway(venue.url, read="0.3").place(payload, creds=CREDS)
    assert (verdict.kind, verdict.reason, verdict.http_status) == ("unknown", "transport_error", None)
    assert "ReadTimeout" in verdict.detail
    assert venue.hits["/order"] == 1


def test_a_connection_dropped_after_sending_is_unknown(venue: LocalVenue, payload: SignedOrderPayload) -> None:
    venue.route("POST", "/order", Reply(drop=True))
    verdict = _gateway(venue.url).place(payload, creds=CREDS)
    assert (verdict.kind, verdict.reason) == ("unknown", "transport_error")
    assert venue.hits["/order"] == 1


def test_a_refused_connection_is_never_sent(payload: SignedOrderPayload) -> None:
    local = LocalVenue()
    local.route("GET", "/version", Reply(body={"version": 2}))
    local.route("GET", "/time", Reply(body=int(time.time())))
    with serve(local):
        gateway = _gateway(local.url)
        gateway.check_version()
        gateway.clock.offset()
    # The venue is gone (connection refused); the canary's answer and the clock's are still fresh.
    verdict = gateway.place(payload, creds=CREDS)
    assert verdict == Classification(kind="retry_later", reason="not_sent", detail=verdict.detail)
    assert "ConnectError" in verdict.detail
    assert local.hits["/order"] == 0


def test_it_refuses_to_send_with_credentials_of_another_key(venue: LocalVenue, payload: SignedOrderPayload) -> None:
    other = ApiCredentials(key="another-key", secret=API_SECRET, passphrase=API_PASSPHRASE)
    with pytest.raises(CredentialsMismatch):
        _gateway(venue.url).place(payload, creds=other)
    assert venue.hits["/order"] == 0


def test_no_secret_reaches_the_logs(
    venue: LocalVenue, payload: SignedOrderPayload, caplog: pytest.LogCaptureFixture
) -> None:
    venue.route("POST", "/order", _checked_post())
    with caplog.at_level("DEBUG"):
        _gateway(venue.url).place(payload, creds=CREDS)
    text = caplog.text
    assert payload.order_hash[:14] in text  # the order is named (by its short hash: logging happened)
    for secret in (API_SECRET, API_PASSPHRASE, KEY_0[2:]):
        assert secret not in text


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def hang_up() -> Iterator[HangUpServer]:
    server = HangUpServer()
    yield server
    server.close()


def test_the_read_transport_tells_never_sent_from_answer_lost(silent: SilentServer, hang_up: HangUpServer) -> None:
    # Reads go through httpx (orders through pool.py, tests/execution/venue/test_pool.py).
    client = new_client(connect_timeout=Decimal("0.5"), read_timeout=Decimal("0.3"))
    with pytest.raises(NotSent, match="ConnectError"):
        send(client, "POST", f"http://127.0.0.1:{closed_port()}/order", content=b"{}")
    with pytest.raises(AnswerLost, match="ReadTimeout"):
        send(client, "POST", silent.url + "/order", content=b"{}")
    assert silent.requests == 1
    with pytest.raises(AnswerLost, match="RemoteProtocolError"):
        send(client, "POST", hang_up.url + "/order", content=b"{}")
    with pytest.raises(NotSent, match="UnsupportedProtocol"):
        send(client, "GET", "ftp://127.0.0.1/x")


def test_order_lookup_tells_found_not_found_and_unknown(venue: LocalVenue) -> None:
    found_hash, missing_hash, slow_hash = "0x" + "a" * 64, "0x" + "b" * 64, "0x" + "c" * 64
    venue.route(
        "GET",
        f"/data/order/{found_hash}",
        Reply(body={"id": found_hash, "status": "MATCHED", "size_matched": "21.04", "original_size": "21.04"}),
    )
    venue.route("GET", f"/data/order/{slow_hash}", Reply(body={}, delay=1.0))
    gateway = _gateway(venue.url, read="0.3")
    found = gateway.get_order(found_hash, creds=CREDS, address=ADDRESS_0)
    assert found.kind == "found"
    assert found.order is not None
    assert (found.order.status, found.order.size_matched) == ("MATCHED", Decimal("21.04"))
    assert gateway.get_order(missing_hash, creds=CREDS, address=ADDRESS_0).kind == "not_found"
    assert gateway.get_order(slow_hash, creds=CREDS, address=ADDRESS_0).kind == "unknown"
    request = next(r for r in venue.requests if r.path == f"/data/order/{found_hash}")
    headers = {k.upper(): v for k, v in request.headers.items()}
    assert headers["POLY_SIGNATURE"] == build_hmac_signature(
        secret=API_SECRET, timestamp=int(headers["POLY_TIMESTAMP"]), method="GET", path=request.path
    )


def test_trades_of_a_maker_are_read_with_l2_headers_and_filters(venue: LocalVenue) -> None:
    venue.route("GET", "/data/trades", Reply(body=fixture("official_docs_examples.json")["clob_user_trades"]["body"]))
    page = _gateway(venue.url).trades(creds=CREDS, address=ADDRESS_0, maker_address=ADDRESS_0, after=1795000000)
    assert page.trades[0].status == "CONFIRMED"
    request = next(r for r in venue.requests if r.path == "/data/trades")
    assert request.query == {"maker_address": [ADDRESS_0], "after": ["1795000000"]}
    headers = {k.upper(): v for k, v in request.headers.items()}
    assert headers["POLY_API_KEY"] == API_KEY


def test_balance_time_and_version_reads(venue: LocalVenue) -> None:
    venue.route("GET", "/balance-allowance", Reply(body={"balance": "1000000", "allowances": {ADDRESS_0: "5"}}))
    gateway = _gateway(venue.url)
    balance = gateway.balance_allowance(creds=CREDS, address=ADDRESS_0, asset_type="COLLATERAL", signature_type=0)
    assert balance.balance == Decimal(1)
    assert gateway.server_time() == 1795260000
    assert gateway.version() == 2
    request = next(r for r in venue.requests if r.path == "/balance-allowance")
    assert request.query == {"asset_type": ["COLLATERAL"], "signature_type": ["0"]}


def test_read_errors_are_typed(venue: LocalVenue) -> None:
    venue.route("GET", "/book", Reply(status=404, body={"error": "No orderbook exists for the requested token id"}))
    venue.route("GET", "/data/trades", Reply(status=502, raw=b"<html>bad gateway</html>"))
    gateway = _gateway(venue.url)
    with pytest.raises(VenueRefused) as refused:
        gateway.book(TOKEN_YES)
    assert (refused.value.status, refused.value.message) == (404, "No orderbook exists for the requested token id")
    with pytest.raises(VenueUnavailable):
        gateway.trades(creds=CREDS, address=ADDRESS_0)
    with pytest.raises(NotSent):
        _gateway(f"http://127.0.0.1:{closed_port()}").server_time()


def test_the_default_gateway_and_sdk_config_come_from_settings() -> None:
    gateway = default_gateway()
    assert gateway is default_gateway()
    assert gateway.venue.clob_url == settings.POLYMARKET_CLOB_URL.rstrip("/")
    assert gateway.venue.read_timeout == Decimal(str(settings.VENUE_READ_TIMEOUT))
    config = configured_sdk_config()
    assert (config.clob_url, config.chain_id) == (
        settings.POLYMARKET_CLOB_URL.rstrip("/"),
        settings.POLYMARKET_CHAIN_ID,
    )
