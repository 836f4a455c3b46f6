"""Contract tests on the private polymarket-client functions we use: an SDK upgrade that changes
them must fail here, loudly, before it signs anything different."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable
from decimal import Decimal
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

import pytest
from polymarket._internal.actions.auth import build_l1_auth_headers, parse_api_key_creds
from polymarket._internal.actions.orders import context, limit, market, orders, post, typed_data
from polymarket._internal.actions.orders.types import OrderDraft, UnsignedOrder
from polymarket._internal.environment import EnvironmentConfig, create_environment, get_environment_config
from polymarket._internal.hmac import build_hmac_signature
from polymarket._internal.l1_auth import sign_api_key_auth
from polymarket._internal.protocol import is_v2_position_id
from polymarket._internal.wallet import (
    classify_account,
    signature_type_for,
    try_classify_wallet_type,
    wrap_deposit_wallet_signature,
)
from polymarket.models.clob.orders import SignedOrder
from polymarket.models.types import TokenId
from polymarket.types import EvmAddress

from execution.venue.amounts import MIN_GTD_LEAD_SECONDS, ROUNDING
from execution.venue.environment import DEAD_URL, DEAD_WS_URL, sdk_config, sdk_environment
from execution.venue.hashing import ORDER_TYPE_STRING
from tests.execution.venue.conftest import ADDRESS_0, ADDRESS_1
from tests.factories import TOKEN_NO, TOKEN_YES


def test_the_sdk_is_the_pinned_version() -> None:
    assert version("polymarket-client") == "0.14.0"


def test_the_private_functions_keep_their_signatures() -> None:
    expected: dict[Callable[..., Any], list[str]] = {
        limit._compute_limit_order_amounts: ["price", "size", "side", "tick_size"],
        market._compute_market_order_amounts: ["amount", "price", "side", "tick_size"],
        context.resolve_order_exchange_address: ["config", "asset_id", "neg_risk"],
        context.validate_price_on_tick_grid: ["price", "tick_size", "field"],
        orders.create_unsigned_order: ["draft", "wallet", "wallet_type"],
        orders.create_signed_order: ["order", "signature", "post_only"],
        typed_data.build_order_typed_data: ["order", "protocol_version"],
        typed_data.build_order_signature: ["order", "signature", "protocol_version"],
        post.build_post_order_request: ["signed_order", "owner_api_key"],
        build_hmac_signature: ["secret", "timestamp", "method", "path", "body"],
        sign_api_key_auth: ["signer", "chain_id", "timestamp", "nonce"],
        build_l1_auth_headers: ["signature"],
        parse_api_key_creds: ["data"],
        try_classify_wallet_type: ["signer", "wallet", "config"],
        wrap_deposit_wallet_signature: ["signer", "signer_type", "signature"],
        create_environment: ["name", "config"],
    }
    for function, parameters in expected.items():
        assert list(inspect.signature(function).parameters) == parameters, function.__qualname__
    assert [f.name for f in dataclasses.fields(OrderDraft)] == [
        "chain_id",
        "exchange_address",
        "expiration",
        "funder_address",
        "offered_amount",
        "order_type",
        "side",
        "signer",
        "requested_amount",
        "asset_id",
        "builder_code",
    ]
    assert "protocol_version" in {f.name for f in dataclasses.fields(UnsignedOrder)}


def test_the_rounding_table_and_gtd_floor_are_the_reference_ones() -> None:
    sdk = {tick: (c.price, c.size, c.amount) for tick, c in context._ROUNDING_BY_TICK.items()}
    assert sdk == ROUNDING
    assert Decimal("0.0001") == context.MIN_SUPPORTED_TICK_SIZE
    assert MIN_GTD_LEAD_SECONDS == 180


def test_the_order_type_string_is_the_sdks() -> None:
    assert typed_data._ORDER_TYPE_STRING == ORDER_TYPE_STRING


def test_protocol_v2_position_ids_are_recognised_by_bits_40_to_103() -> None:
    assert not is_v2_position_id(TOKEN_YES)
    assert not is_v2_position_id(TOKEN_NO)
    assert is_v2_position_id("1234")  # the trap: a short id means ExchangeV3
    assert is_v2_position_id(str((1 << 248) | (0xABCD << 104)))
    assert not is_v2_position_id(str(1 << 40))


def test_unsigned_orders_get_a_53_bit_salt_and_the_right_domain_version() -> None:
    cfg = sdk_config(clob_url=DEAD_URL, data_url=DEAD_URL, chain_id=137)
    draft = OrderDraft(
        chain_id=137,
        exchange_address=EvmAddress(cfg.standard_exchange),
        expiration=0,
        funder_address=EvmAddress(ADDRESS_0),
        offered_amount=1,
        order_type="GTC",
        side="BUY",
        signer=EvmAddress(ADDRESS_0),
        requested_amount=2,
        asset_id=TokenId(TOKEN_YES),
    )
    unsigned = orders.create_unsigned_order(draft, wallet=EvmAddress(ADDRESS_0), wallet_type="EOA")
    assert 0 <= unsigned.salt < 2**53
    assert unsigned.protocol_version == "2"
    v3 = orders.create_unsigned_order(
        dataclasses.replace(draft, asset_id=TokenId("1234")), wallet=EvmAddress(ADDRESS_0), wallet_type="EOA"
    )
    assert v3.protocol_version == "3"


def test_the_sdk_turns_an_unknown_funder_into_a_session_key_order_which_we_must_catch() -> None:
    cfg = sdk_config(clob_url=DEAD_URL, data_url=DEAD_URL, chain_id=137)
    assert try_classify_wallet_type(signer=ADDRESS_0, wallet=ADDRESS_1, config=cfg.wallet_derivation) is None
    silent = classify_account(signer=ADDRESS_0, wallet=ADDRESS_1, config=cfg.wallet_derivation)
    assert (silent.signer_type, silent.wallet_type) == ("SESSION_KEY", "DEPOSIT_WALLET")
    assert [signature_type_for(t) for t in ("EOA", "POLY_PROXY", "GNOSIS_SAFE", "DEPOSIT_WALLET")] == [0, 1, 2, 3]


def test_the_post_body_shape_is_unchanged() -> None:
    signed = SignedOrder(
        builder="0x" + "00" * 32,  # type: ignore[arg-type]
        expiration=0,
        maker=EvmAddress(ADDRESS_0),
        maker_amount=56000000,
        metadata="0x" + "00" * 32,  # type: ignore[arg-type]
        order_type="FAK",
        salt=479249096354,
        side="BUY",
        signature="0x" + "11" * 65,  # type: ignore[arg-type]
        signature_type=0,
        signer=EvmAddress(ADDRESS_0),
        taker_amount=100000000,
        timestamp=1780000000000,
        token_id=TokenId(TOKEN_YES),
    )
    path, body = post.build_post_order_request(signed, owner_api_key="owner")
    assert path == "/order"
    assert json.dumps(body, separators=(",", ":")).startswith('{"deferExec":false,"order":{"builder":')
    assert list(body) == ["deferExec", "order", "orderType", "owner"]
    assert body["order"]["expiration"] == "0"
    assert body["order"]["salt"] == 479249096354
    assert body["orderType"] == "FAK"
    post_only = dataclasses.replace(signed, order_type="GTC", post_only=True)
    assert post.build_post_order_request(post_only, owner_api_key="owner")[1]["postOnly"] is True


def test_the_environment_points_every_host_at_us_or_a_dead_loopback_port() -> None:
    env = sdk_environment(clob_url="http://127.0.0.1:8765", data_url="http://127.0.0.1:8766", chain_id=80002)
    cfg: EnvironmentConfig = get_environment_config(env)
    urls = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name.endswith("_url")}
    assert len(urls) >= 16
    for name, url in urls.items():
        assert urlsplit(url).hostname == "127.0.0.1", name
    assert (cfg.clob_url, cfg.data_url) == ("http://127.0.0.1:8765", "http://127.0.0.1:8766")
    assert cfg.rpc_url == cfg.relayer_url == cfg.gamma_url == DEAD_URL
    assert cfg.clob_market_ws_url == DEAD_WS_URL
    assert cfg.chain_id == 80002
    assert cfg.exchange_v3 == "0x9fE6e61422AdB6F610d8597F9684b16912D50C3D"
    assert cfg.standard_exchange == "0xE111180000d2663C0091e4f400237545B87B996B"
    assert cfg.neg_risk_exchange == "0xe2222d279d744050d28e00520010520000310F59"


@pytest.mark.parametrize("neg_risk", [False, True])
def test_exchange_resolution_by_market_and_token(neg_risk: bool) -> None:
    cfg = sdk_config(clob_url=DEAD_URL, data_url=DEAD_URL, chain_id=137)
    exchange = context.resolve_order_exchange_address(cfg, asset_id=TOKEN_YES, neg_risk=neg_risk)
    assert exchange == (cfg.neg_risk_exchange if neg_risk else cfg.standard_exchange)
    assert context.resolve_order_exchange_address(cfg, asset_id="1234", neg_risk=neg_risk) == cfg.exchange_v3
