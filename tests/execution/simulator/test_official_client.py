"""polymarket-client 0.14.0, unchanged except for its hosts, trading against the simulator."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from polymarket import PRODUCTION, SecureClient, SignedOrder
from polymarket._internal.environment import create_environment, get_environment_config
from polymarket.clients.secure import _make_l2_header_resolver_sync
from polymarket.environments import Environment
from polymarket.errors import RequestRejectedError
from polymarket.models.data.activity import TradeActivity

from execution.simulator import VenueSimulator

from .support import ADDR0, NEG_RISK_EXCHANGE, NR_YES, PK0, PK1, YES, ShiftedClock, scenario, sign_order

_HTTP = (
    "clob_url",
    "gamma_url",
    "data_url",
    "relayer_url",
    "rfq_url",
    "rpc_url",
    "builder_gateway_url",
    "collateral_return_url",
    "perps_url",
)
_WS = {
    "clob_market_ws_url": "/ws/market",
    "clob_user_ws_url": "/ws/user",
    "rtds_ws_url": "",
    "sports_ws_url": "/ws",
    "realtime_ws_url": "/ws",
    "perps_ws_url": "/v1/ws",
    "rfq_quoter_ws_url": "/ws/rfq",
}


def local_environment(url: str) -> Environment:
    """Production config with every host on loopback: the venue's, or port 9 where nothing listens."""
    dead = "127.0.0.1:9"
    hosts: dict[str, Any] = {name: f"http://{dead}" for name in _HTTP}
    hosts |= {name: f"ws://{dead}{path}" for name, path in _WS.items()}
    hosts |= {"clob_url": url, "data_url": url, "relayer_url": url}
    return create_environment(name="simulator", config=dataclasses.replace(get_environment_config(PRODUCTION), **hosts))


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def served(clock: ShiftedClock) -> Iterator[VenueSimulator]:
    with VenueSimulator(scenario(), clock=clock) as running:
        running.set_settlement(mined_after_ms=None)
        running.set_book(YES, bids=[("0.55", "100")], asks=[("0.57", "100"), ("0.58", "200")])
        running.set_book(NR_YES, bids=[("0.300", "100")], asks=[("0.310", "100")])
        yield running


@pytest.fixture
def client(served: VenueSimulator) -> Iterator[SecureClient]:
    # No credentials given: the SDK creates them through POST /auth/api-key (L1).
    created = SecureClient.create(private_key=PK0, wallet=ADDR0, environment=local_environment(served.url))
    yield created
    created.close()


def signed(order: dict[str, Any], order_type: str = "GTC") -> SignedOrder:
    return SignedOrder(
        builder=order["builder"],
        expiration=int(order["expiration"]),
        maker=order["maker"],
        maker_amount=int(order["makerAmount"]),
        metadata=order["metadata"],
        order_type=order_type,  # type: ignore[arg-type]
        salt=order["salt"],
        side=order["side"],
        signature=order["signature"],
        signature_type=order["signatureType"],
        signer=order["signer"],
        taker_amount=int(order["takerAmount"]),
        timestamp=int(order["timestamp"]),
        token_id=order["tokenId"],
    )


def rejection(client: SecureClient, order: SignedOrder) -> RequestRejectedError:
    with pytest.raises(RequestRejectedError) as caught:
        client.post_order(order)
    return caught.value


def test_it_derives_credentials_for_the_official_client(served: VenueSimulator, client: SecureClient) -> None:
    assert client.fetch_api_keys() == (served.credentials(ADDR0).key,)
    again = SecureClient.create(private_key=PK0, wallet=ADDR0, environment=local_environment(served.url))
    assert again.fetch_api_keys() == client.fetch_api_keys()  # create refused, derive gave the same key
    again.close()


def test_it_takes_a_limit_order_and_returns_it_by_hash(served: VenueSimulator, client: SecureClient) -> None:
    order = client.create_limit_order(token_id=YES, side="BUY", price=Decimal("0.50"), size=Decimal("21.04"))
    accepted = client.post_order(order)
    assert accepted.ok is True
    assert accepted.status == "live"
    fetched = client.get_order(order_id=accepted.order_id)
    assert (fetched.id, fetched.status, fetched.price, fetched.original_size) == (
        accepted.order_id,
        "LIVE",
        Decimal("0.5"),
        Decimal("21.04"),
    )
    assert [o.id for o in client.list_open_orders().first_page().items] == [accepted.order_id]
    assert served.order(accepted.order_id) is not None


def test_it_fills_a_protected_market_order_and_lists_its_trades(served: VenueSimulator, client: SecureClient) -> None:
    order = client.create_market_order(
        token_id=YES, side="BUY", amount=Decimal("25"), max_price=Decimal("0.58"), order_type="FAK"
    )
    accepted = client.post_order(order)
    assert accepted.ok is True
    assert accepted.status == "matched"
    assert accepted.making_amount == Decimal("24.999999")
    assert accepted.taking_amount == Decimal("43.859649")
    trades = client.list_account_trades().first_page().items
    assert [t.id for t in trades] == list(accepted.trade_ids)
    assert (trades[0].price, trades[0].status, trades[0].trader_side) == (Decimal("0.57"), "MATCHED", "TAKER")
    served.advance_trades()
    assert client.list_account_trades().first_page().items[0].status == "CONFIRMED"
    balance = client.get_balance_allowance(asset_type="COLLATERAL")
    assert balance.balance == 1000_000_000 - 24_999_999


def test_it_refuses_a_forged_signature_with_the_real_string(client: SecureClient) -> None:
    genuine = client.create_limit_order(token_id=YES, side="BUY", price=Decimal("0.50"), size=Decimal("10"))
    forger = sign_order(
        PK1,
        token_id=YES,
        side="BUY",
        maker_amount=genuine.maker_amount,
        taker_amount=genuine.taker_amount,
        salt=genuine.salt,
        timestamp_ms=genuine.timestamp,
    )
    forged = dataclasses.replace(genuine, signature=forger["signature"])
    error = rejection(client, forged)
    assert (error.status, str(error)) == (400, "invalid signature")


def test_it_refuses_a_wrong_domain_version_with_the_real_string(client: SecureClient) -> None:
    order = sign_order(PK0, token_id=YES, side="BUY", maker_amount=5_000_000, taker_amount=10_000_000, version="1")
    error = rejection(client, signed(order))
    assert (error.status, str(error)) == (400, "invalid signature")


def test_it_refuses_the_standard_exchange_for_a_neg_risk_market(client: SecureClient) -> None:
    wrong = sign_order(PK0, token_id=NR_YES, side="BUY", maker_amount=3_000_000, taker_amount=10_000_000)
    error = rejection(client, signed(wrong))
    assert (error.status, str(error)) == (400, "invalid signature")
    right = sign_order(
        PK0, token_id=NR_YES, side="BUY", maker_amount=3_000_000, taker_amount=10_000_000, exchange=NEG_RISK_EXCHANGE
    )
    assert client.post_order(signed(right)).ok is True


def test_it_refuses_a_replayed_l2_header_outside_the_window(
    served: VenueSimulator, client: SecureClient, clock: ShiftedClock
) -> None:
    creds = served.credentials(ADDR0)
    from polymarket import ApiKeyCreds

    headers = _make_l2_header_resolver_sync(
        client._ctx.signer, ApiKeyCreds(key=creds.key, secret=creds.secret, passphrase=creds.passphrase)
    )("GET", "/data/orders", None)
    with httpx.Client(base_url=served.url) as raw:
        assert raw.get("/data/orders", headers=headers).status_code == 200
        clock.offset = 60
        replayed = raw.get("/data/orders", headers=headers)
    assert (replayed.status_code, replayed.json()) == (401, {"error": "Unauthorized/Invalid api key"})
    with pytest.raises(RequestRejectedError) as caught:
        client.list_open_orders().first_page()
    assert (caught.value.status, str(caught.value)) == (401, "Unauthorized/Invalid api key")


def test_it_answers_a_fak_that_finds_nothing_the_way_the_sdk_expects(
    served: VenueSimulator, client: SecureClient
) -> None:
    served.set_book(YES, asks=[])
    order = client.create_market_order(
        token_id=YES, side="BUY", amount=Decimal("5"), max_price=Decimal("0.58"), order_type="FAK"
    )
    error = rejection(client, order)
    assert error.status == 400
    assert str(error).startswith("no orders found to match with FAK order.")


def test_it_serves_leader_trades_to_the_sdks_data_api_v2_reads(served: VenueSimulator, client: SecureClient) -> None:
    leader = "0xe5c8026239919339b988fdb150a7ef4ea196d3e7"
    served.inject_leader_trade(leader, YES, "BUY", "2641.75", "0.968", timestamp=1725425464)
    served.inject_leader_trade(leader, YES, "SELL", "5", "0.97", timestamp=1725425465, taker=False)
    (trade,) = client.list_trades(user=leader).first_page().items
    assert (trade.side, trade.size, trade.price, int(trade.timestamp.timestamp())) == (
        "BUY",
        Decimal("2641.75"),
        Decimal("0.968"),
        1725425464,
    )
    both = client.list_trades(user=leader, taker_only=False).first_page().items
    assert [t.side for t in both] == ["SELL", "BUY"]
    activity = client.list_activity(user=leader).first_page().items
    assert all(isinstance(a, TradeActivity) for a in activity)
    assert [(a.shares, a.amount) for a in activity if isinstance(a, TradeActivity)] == [
        (Decimal(5), Decimal("4.85")),
        (Decimal("2641.75"), Decimal("2557.21400")),
    ]
