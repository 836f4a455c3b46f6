"""Type-3 session-key orders through our gateway: the deposit wallet derived from the owner
(checked against the shared vectors), the upstream POLY_1271 vector reproduced, the 0x6492
session wrapper, and the official client's own bytes for the same order."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from polymarket import ApiKeyCreds, SecureClient
from polymarket._internal.actions.orders import orders as sdk_orders
from polymarket._internal.actions.orders.market_data import MarketInfo as SdkMarketInfo
from polymarket._internal.actions.orders.market_data import PlatformFeeInfo
from polymarket._internal.actions.orders.post import build_post_order_request
from polymarket._internal.actions.orders.types import UnsignedOrder
from polymarket._internal.environment import EnvironmentConfig
from polymarket.models.clob.orders import SignedOrder

from execution.venue.environment import DEAD_URL, sdk_environment
from execution.venue.errors import UnexpectedAnswer, WalletMismatch
from execution.venue.hashing import order_hash
from execution.venue.orders import OrderRequest
from execution.venue.session import deposit_wallet_check, deposit_wallets_of, parse_session_registry, session_order_sign
from execution.venue.signing import sign_unsigned_order
from tests.execution.venue.conftest import ADDRESS_0, ADDRESS_1, API_KEY, fixture, market
from tests.factories import TOKEN_YES

pytestmark = pytest.mark.session_custody

POLY1271 = fixture("signing_vector_v2_poly1271_deposit_wallet_upstream.json")
WALLETS = fixture("wallet_derivation_vectors.json")
SESSION_KEY = "0x" + "5e" * 32
SESSION = Account.from_key(SESSION_KEY).address
WALLET_0 = {row["eoa"]: row for row in WALLETS["computed"]}[ADDRESS_0]["deposit_wallet_beacon"]
MAGIC = bytes.fromhex("64926492" * 8)
PINNED_SALT, PINNED_MS = 6534291713829453, 1_795_259_984_857


@pytest.mark.parametrize("row", WALLETS["computed"], ids=lambda r: r["eoa"])
def test_an_owners_deposit_wallets_are_the_vectors_ones(row: dict[str, str], config: EnvironmentConfig) -> None:
    wallets = deposit_wallets_of(owner=row["eoa"], config=config)
    assert wallets.current == row["deposit_wallet_beacon"].lower()
    assert wallets.legacy == row["deposit_wallet_uups_legacy"].lower()


@pytest.mark.parametrize("row", [r for r in WALLETS["upstream"] if r["kind"].startswith("deposit")], ids=str)
def test_the_upstream_deposit_wallet_vectors_are_derived_from_their_owner(
    row: dict[str, str], config: EnvironmentConfig
) -> None:
    wallets = deposit_wallets_of(owner=row["eoa"], config=config)
    derived = wallets.current if row["kind"] == "deposit_beacon" else wallets.legacy
    assert derived == row["expected"].lower()
    assert deposit_wallet_check(owner=row["eoa"], wallet=row["expected"], config=config).signature_type == 3


def test_a_session_key_is_never_pointed_at_a_wallet_that_is_not_the_owners(config: EnvironmentConfig) -> None:
    for stranger in (ADDRESS_1, SESSION, WALLETS["computed"][1]["deposit_wallet_beacon"]):
        with pytest.raises(WalletMismatch):
            deposit_wallet_check(owner=ADDRESS_0, wallet=stranger, config=config)
    with pytest.raises(WalletMismatch):
        session_order_sign(
            session_key=SESSION_KEY,
            owner=ADDRESS_0,
            wallet=ADDRESS_1,
            api_key=API_KEY,
            request=OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal(5), max_price=Decimal("0.6")),
            market=market(),
            config=config,
        )


def _vector_order() -> UnsignedOrder:
    order = POLY1271["order"]
    return UnsignedOrder(
        chain_id=POLY1271["chain_id"],
        builder=order["builder"],
        exchange_address=POLY1271["verifyingContract"],
        expiration=0,
        maker=order["maker"],
        maker_amount=int(order["makerAmount"]),
        metadata=order["metadata"],
        order_type="GTC",
        salt=int(order["salt"]),
        side="BUY",
        signature_type=3,
        signer=order["signer"],
        taker_amount=int(order["takerAmount"]),
        timestamp=int(order["timestamp"]),
        token_id=order["tokenId"],
        protocol_version="2",
    )


def test_the_session_wrapper_carries_the_upstream_poly1271_signature_byte_for_byte() -> None:
    """Signed by the vector's key as a session signer, the inner 317 bytes are the upstream
    vector's (the ERC-7739 layout is the signer's, whoever it is) and the wrapper names it."""
    signer = Account.from_key(POLY1271["private_key"])
    wrapped = sign_unsigned_order(unsigned=_vector_order(), signer=signer, signer_type="SESSION_KEY")
    raw = bytes.fromhex(wrapped[2:])
    assert raw.endswith(MAGIC)
    assert len(raw) == 480
    signer_id, zero, inner = abi_decode(["bytes32", "bytes32", "bytes"], raw[: -len(MAGIC)])
    assert signer_id == bytes(12) + bytes.fromhex(signer.address[2:])
    assert zero == bytes(32)
    assert "0x" + inner.hex() == POLY1271["expected_signature"]


class StaticMetadata:
    """The SDK's order-metadata cache, answered from a table (no /clob-markets fetch)."""

    def __init__(self, info: SdkMarketInfo) -> None:
        self.info = info

    def resolve_market(self, ctx: Any, *, token_id: str) -> SdkMarketInfo:
        assert token_id in self.info.token_ids
        return self.info

    fetch_current_market = resolve_market

    def resolve_builder_taker_fee_rate(self, ctx: Any, *, builder_code: str | None) -> Decimal:
        return Decimal(0)


@pytest.fixture
def official_session_client() -> Iterator[SecureClient]:
    """The official client with the session key for owner #0's deposit wallet, fully offline."""
    environment = sdk_environment(clob_url=DEAD_URL, data_url=DEAD_URL, chain_id=137)
    client = SecureClient._create(
        private_key=SESSION_KEY,
        wallet=WALLET_0,
        environment=environment,
        credentials=ApiKeyCreds(key=API_KEY, secret="c2VjcmV0", passphrase="p"),
        validate_credentials=False,
    )
    info = market()
    sdk_info = SdkMarketInfo(
        fee_info=PlatformFeeInfo(rate=info.fees.rate, exponent=info.fees.exponent),
        neg_risk=info.neg_risk,
        tick_size=info.tick_size,
        token_ids=frozenset(info.token_ids),  # type: ignore[arg-type]
    )
    object.__setattr__(client._ctx, "order_metadata", StaticMetadata(sdk_info))
    yield client
    client.close()


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdk_orders, "_generate_salt", lambda: PINNED_SALT)
    monkeypatch.setattr(sdk_orders, "_current_timestamp_ms", lambda: PINNED_MS)


def _sdk_body(signed: SignedOrder) -> dict[str, Any]:
    return build_post_order_request(signed, owner_api_key=API_KEY)[1]


@pytest.mark.usefixtures("pinned")
def test_a_session_order_signed_through_our_gateway_is_the_official_clients_bytes(
    official_session_client: SecureClient, config: EnvironmentConfig
) -> None:
    assert official_session_client._ctx.signer_type == "SESSION_KEY"
    cases = [
        (
            OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal(25), max_price=Decimal("0.57")),
            official_session_client.create_market_order(
                token_id=TOKEN_YES, side="BUY", amount=Decimal(25), max_price=Decimal("0.57"), order_type="FAK"
            ),
        ),
        (
            OrderRequest.market_sell(token_id=TOKEN_YES, shares=Decimal(40), min_price=Decimal("0.5")),
            official_session_client.create_market_order(
                token_id=TOKEN_YES, side="SELL", shares=Decimal(40), min_price=Decimal("0.5"), order_type="FAK"
            ),
        ),
        (
            OrderRequest.limit(token_id=TOKEN_YES, side="BUY", price=Decimal("0.56"), size=Decimal("21.04")),
            official_session_client.create_limit_order(
                token_id=TOKEN_YES, side="BUY", price=Decimal("0.56"), size=Decimal("21.04")
            ),
        ),
    ]
    for request, official in cases:
        ours = session_order_sign(
            session_key=SESSION_KEY,
            owner=ADDRESS_0,
            wallet=WALLET_0,
            api_key=API_KEY,
            request=request,
            market=market(),
            config=config,
        )
        assert ours.parsed_body == _sdk_body(official)
        assert ours.order["signatureType"] == 3
        assert ours.order["maker"] == ours.order["signer"] == WALLET_0
        assert ours.api_address == SESSION  # POLY_ADDRESS: the session signer owns the API key
        assert ours.order_hash == order_hash(ours.order, chain_id=137, exchange=ours.exchange, version="2")


def test_the_registry_answer_parses_and_names_each_grant() -> None:
    registry = parse_session_registry(
        {
            "wallet": WALLET_0,
            "signers": [{"address": SESSION, "scopes": ["clob"], "valid_until": 1_800_000_000}],
        }
    )
    assert registry.wallet == WALLET_0.lower()
    grant = registry.grant_for(SESSION)
    assert grant is not None
    assert grant.covers("CLOB")
    assert not grant.covers("COMBOSRFQ")
    assert int(grant.valid_until.timestamp()) == 1_800_000_000
    broken_answers: list[object] = [{"signers": []}, {"wallet": WALLET_0, "signers": [{"address": SESSION}]}, []]
    for broken in broken_answers:
        with pytest.raises(UnexpectedAnswer):
            parse_session_registry(broken)
