"""Every shared signing vector, reproduced through our own code (and the SDK under it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils.crypto import keccak
from polymarket._internal.actions.orders.orders import create_signed_order
from polymarket._internal.actions.orders.typed_data import build_order_typed_data
from polymarket._internal.actions.orders.types import UnsignedOrder
from polymarket._internal.environment import EnvironmentConfig
from polymarket._internal.wallet import (
    derive_beacon_deposit_wallet_address,
    derive_proxy_wallet_address,
    derive_safe_wallet_address,
    derive_uups_deposit_wallet_address,
)
from polymarket.types import EvmAddress, HexString

from execution.venue.auth import ApiCredentials, l1_headers, l2_headers
from execution.venue.hashing import ORDER_TYPE_STRING, ORDER_TYPEHASH, domain_separator, order_hash
from execution.venue.payload import payload_from_signed_order
from execution.venue.signing import digest_sign, sign_unsigned_order, wallet_classify
from tests.execution.venue.conftest import fixture

ORDERS = fixture("signing_vectors_v2_v3_order_eoa_computed.json")
AUTH = fixture("signing_vectors_auth_l1_l2.json")
POLY1271 = fixture("signing_vector_v2_poly1271_deposit_wallet_upstream.json")
WALLETS = fixture("wallet_derivation_vectors.json")


def _unsigned(vector: dict[str, Any]) -> UnsignedOrder:
    common = ORDERS["common_order_fields"]
    amounts = common[f"{vector['side']}_amounts"]
    return UnsignedOrder(
        chain_id=vector["chainId"],
        builder=common["builder"],
        exchange_address=vector["verifyingContract"],
        expiration=0,
        maker=common["maker"],
        maker_amount=int(amounts["makerAmount"]),
        metadata=common["metadata"],
        order_type="GTC",
        salt=common["salt"],
        side=vector["side"],
        signature_type=common["signatureType"],
        signer=common["signer"],
        taker_amount=int(amounts["takerAmount"]),
        timestamp=int(common["timestamp"]),
        token_id=common["tokenId"],
        protocol_version=vector["domainVersion"],
    )


@pytest.mark.parametrize("vector", ORDERS["vectors"], ids=lambda v: f"{v['label']}-{v['side']}")
def test_it_reproduces_every_v2_v3_order_vector(vector: dict[str, Any]) -> None:
    unsigned = _unsigned(vector)
    signature = sign_unsigned_order(unsigned=unsigned, signer=Account.from_key(ORDERS["private_key"]))
    assert signature == vector["signature"]

    payload = payload_from_signed_order(
        create_signed_order(unsigned, signature),
        owner_api_key="00000000-0000-0000-0000-000000000000",
        chain_id=vector["chainId"],
        exchange=vector["verifyingContract"],
        domain_version=vector["domainVersion"],
        api_address=ORDERS["address"],
    )
    assert payload.order_hash == vector["orderHash"]
    sdk_digest = _hash_eip191_message(encode_typed_data(full_message=build_order_typed_data(unsigned)))
    assert "0x" + sdk_digest.hex() == vector["orderHash"]
    assert Account._recover_hash(sdk_digest, signature=signature) == ORDERS["address"]


def test_the_order_typehash_is_the_reference_one() -> None:
    assert "0x" + ORDER_TYPEHASH.hex() == ORDERS["eip712"]["ORDER_TYPEHASH"]


def test_the_example_post_body_carries_the_vector_order_and_hashes_to_its_order_hash() -> None:
    body = ORDERS["example_POST_order_body"]
    vector = ORDERS["vectors"][0]
    assert body["order"]["signature"] == vector["signature"]
    assert (
        order_hash(body["order"], chain_id=137, exchange=vector["verifyingContract"], version="2")
        == (vector["orderHash"])
    )


def test_our_body_for_the_example_order_has_the_sdk_key_order_and_wire_types() -> None:
    vector = ORDERS["vectors"][0]
    unsigned = _unsigned(vector)
    payload = payload_from_signed_order(
        create_signed_order(unsigned, HexString(vector["signature"])),
        owner_api_key="00000000-0000-0000-0000-000000000000",
        chain_id=137,
        exchange=vector["verifyingContract"],
        domain_version="2",
        api_address=ORDERS["address"],
    )
    sent = json.loads(payload.body)
    assert list(sent) == ["deferExec", "order", "orderType", "owner"]
    assert list(sent["order"]) == sorted(sent["order"])
    assert payload.body == json.dumps(sent, separators=(",", ":"))
    expected = {k: v for k, v in ORDERS["example_POST_order_body"].items() if k != "postOnly"}
    assert sent == expected
    assert isinstance(sent["order"]["salt"], int)
    assert isinstance(sent["order"]["signatureType"], int)
    for field in ("makerAmount", "takerAmount", "timestamp", "expiration", "tokenId"):
        assert isinstance(sent["order"][field], str)


def test_it_reproduces_the_poly1271_deposit_wallet_vector() -> None:
    order = POLY1271["order"]
    unsigned = UnsignedOrder(
        chain_id=POLY1271["chain_id"],
        builder=order["builder"],
        exchange_address=POLY1271["verifyingContract"],
        expiration=0,
        maker=order["maker"],
        maker_amount=int(order["makerAmount"]),
        metadata=order["metadata"],
        order_type="GTC",
        salt=int(order["salt"]),
        side="BUY" if order["side"] == 0 else "SELL",
        signature_type=order["signatureType"],
        signer=order["signer"],
        taker_amount=int(order["takerAmount"]),
        timestamp=int(order["timestamp"]),
        token_id=order["tokenId"],
        protocol_version="2",
    )
    signature = sign_unsigned_order(unsigned=unsigned, signer=Account.from_key(POLY1271["private_key"]))
    assert signature == POLY1271["expected_signature"]

    # The 1271 trailer rebuilds our order hash: keccak(0x1901 || appDomainSeparator || contentsHash).
    raw = bytes.fromhex(signature[2:])
    app_separator, contents = raw[65:97], raw[97:129]
    assert raw[129:-2].decode() == ORDER_TYPE_STRING == POLY1271["ORDER_TYPE_STRING"]
    assert int.from_bytes(raw[-2:], "big") == len(ORDER_TYPE_STRING)
    assert app_separator == domain_separator(
        chain_id=POLY1271["chain_id"], exchange=POLY1271["verifyingContract"], version="2"
    )
    wire_order = dict(order, side="BUY", salt=int(order["salt"]))
    expected_hash = order_hash(
        wire_order, chain_id=POLY1271["chain_id"], exchange=POLY1271["verifyingContract"], version="2"
    )
    assert "0x" + keccak(b"\x19\x01" + app_separator + contents).hex() == expected_hash


@pytest.mark.parametrize("vector", AUTH["l1_clob_auth"]["vectors"], ids=lambda v: f"{v['chainId']}-{v['nonce']}")
def test_it_reproduces_every_l1_clob_auth_vector(vector: dict[str, Any]) -> None:
    signer = Account.from_key(AUTH["l1_clob_auth"]["private_key"])
    headers = l1_headers(
        signer=signer, chain_id=vector["chainId"], nonce=vector["nonce"], timestamp=int(vector["timestamp"])
    )
    assert headers == {
        "POLY_ADDRESS": AUTH["l1_clob_auth"]["address"],
        "POLY_NONCE": str(vector["nonce"]),
        "POLY_SIGNATURE": vector["signature"],
        "POLY_TIMESTAMP": vector["timestamp"],
    }


@pytest.mark.parametrize("vector", AUTH["l2_hmac"]["vectors"], ids=lambda v: f"{v['method']}-{v['path']}")
def test_it_reproduces_every_l2_hmac_vector(vector: dict[str, Any]) -> None:
    body = vector["body"]
    if body is not None and body.startswith("<exact compact JSON"):
        body = json.dumps(ORDERS["example_POST_order_body"], separators=(",", ":"))
    creds = ApiCredentials(key="k", secret=vector["secret"], passphrase="p")
    headers = l2_headers(
        creds=creds,
        address=ORDERS["address"],
        method=vector["method"],
        path=vector["path"],
        body=body,
        timestamp=int(vector["timestamp"]),
    )
    assert headers["POLY_SIGNATURE"] == vector["signature"]
    assert headers["POLY_TIMESTAMP"] == vector["timestamp"]
    assert (headers["POLY_API_KEY"], headers["POLY_PASSPHRASE"], headers["POLY_ADDRESS"]) == (
        "k",
        "p",
        ORDERS["address"],
    )


@pytest.mark.parametrize("row", WALLETS["computed"], ids=lambda r: r["eoa"])
def test_it_classifies_every_computed_wallet_derivation_vector(row: dict[str, str], config: EnvironmentConfig) -> None:
    derivation = config.wallet_derivation
    assert derive_proxy_wallet_address(row["eoa"], derivation) == row["poly_proxy"]
    assert derive_safe_wallet_address(row["eoa"], derivation) == row["gnosis_safe"]
    assert derive_beacon_deposit_wallet_address(row["eoa"], derivation) == row["deposit_wallet_beacon"]
    assert derive_uups_deposit_wallet_address(row["eoa"], derivation) == row["deposit_wallet_uups_legacy"]
    expected = {
        "eoa": 0,
        "poly_proxy": 1,
        "gnosis_safe": 2,
        "deposit_wallet_beacon": 3,
        "deposit_wallet_uups_legacy": 3,
    }
    for column, signature_type in expected.items():
        kind = wallet_classify(signer=row["eoa"], funder=row[column], config=config)
        assert kind.signature_type == signature_type, column
        assert kind.funder == row[column]


@pytest.mark.parametrize("row", WALLETS["upstream"], ids=lambda r: r["kind"])
def test_it_classifies_every_upstream_wallet_derivation_vector(row: dict[str, str], config: EnvironmentConfig) -> None:
    kind = wallet_classify(signer=row["eoa"], funder=row["expected"], config=config)
    assert kind.signature_type == (2 if row["kind"] == "safe" else 3)
    assert kind.funder == row["expected"]


def test_wallet_constants_match_the_shared_vectors(config: EnvironmentConfig) -> None:
    constants, derivation = WALLETS["constants_polygon"], config.wallet_derivation
    assert derivation.proxy_factory == constants["proxy_factory"]
    assert derivation.safe_factory == constants["safe_factory"]
    assert derivation.safe_init_code_hash == constants["safe_init_code_hash"]
    assert derivation.deposit_wallet_factory == constants["deposit_wallet_factory"]
    assert derivation.deposit_wallet_beacon == constants["deposit_wallet_beacon"]
    assert EvmAddress(derivation.deposit_wallet_implementation) == constants["deposit_wallet_implementation_uups"]


@pytest.mark.parametrize("seed", range(64))
def test_digest_sign_gives_eth_accounts_bytes_for_any_key_and_digest(seed: int) -> None:
    key = keccak(text=f"digest-sign-key-{seed}")
    digest = keccak(text=f"digest-sign-digest-{seed}")
    expected = Account.from_key(key).unsafe_sign_hash(digest).signature
    assert digest_sign(key=key, digest=digest) == bytes(expected)
