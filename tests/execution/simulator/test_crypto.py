"""The simulator's own hashing and recovery reproduce every shared vector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from execution.simulator import crypto, wallets
from execution.simulator.crypto import address_bytes
from execution.simulator.signatures import verify_order_signature

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


ORDER_VECTORS = load("signing_vectors_v2_v3_order_eoa_computed.json")


@pytest.mark.parametrize("vector", ORDER_VECTORS["vectors"], ids=lambda v: f"{v['label']}-{v['chainId']}-{v['side']}")
def test_it_hashes_and_recovers_every_v2_and_v3_order_vector(vector: dict[str, Any]) -> None:
    common = ORDER_VECTORS["common_order_fields"]
    amounts = common[f"{vector['side']}_amounts"]
    struct_hash = crypto.order_struct_hash(
        salt=common["salt"],
        maker=address_bytes(common["maker"]),
        signer=address_bytes(common["signer"]),
        token_id=int(common["tokenId"]),
        maker_amount=int(amounts["makerAmount"]),
        taker_amount=int(amounts["takerAmount"]),
        side=0 if vector["side"] == "BUY" else 1,
        signature_type=0,
        timestamp=int(common["timestamp"]),
        metadata=bytes(32),
        builder=bytes(32),
    )
    separator = crypto.order_domain_separator(vector["chainId"], vector["verifyingContract"], vector["domainVersion"])
    digest = crypto.typed_digest(separator, struct_hash)
    assert "0x" + digest.hex() == vector["orderHash"]
    signer = crypto.recover_address(digest, bytes.fromhex(vector["signature"][2:]))
    assert signer == address_bytes(ORDER_VECTORS["address"])


def test_it_knows_the_order_and_clob_auth_typehashes() -> None:
    assert "0x" + crypto.ORDER_TYPEHASH.hex() == ORDER_VECTORS["eip712"]["ORDER_TYPEHASH"]
    assert crypto.CLOB_AUTH_TYPEHASH.hex() == "52578c5c725a28a84fedc8c22aa47947822942f35b4dc350db028e45320e035c"


AUTH = load("signing_vectors_auth_l1_l2.json")


@pytest.mark.parametrize("vector", AUTH["l1_clob_auth"]["vectors"], ids=lambda v: f"{v['chainId']}-{v['nonce']}")
def test_it_recovers_the_signer_of_every_l1_clob_auth_vector(vector: dict[str, Any]) -> None:
    address = address_bytes(AUTH["l1_clob_auth"]["address"])
    digest = crypto.clob_auth_digest(
        chain_id=vector["chainId"], address=address, timestamp=vector["timestamp"], nonce=vector["nonce"]
    )
    assert crypto.recover_address(digest, bytes.fromhex(vector["signature"][2:])) == address


def _l2_body(vector: dict[str, Any]) -> str:
    if vector["body"] is None:
        return ""
    if vector["body"].startswith("<exact compact JSON"):
        return json.dumps(ORDER_VECTORS["example_POST_order_body"], separators=(",", ":"))
    return str(vector["body"])


@pytest.mark.parametrize("vector", AUTH["l2_hmac"]["vectors"], ids=lambda v: f"{v['method']}-{v['path']}")
def test_it_computes_every_l2_hmac_vector(vector: dict[str, Any]) -> None:
    secret = crypto.decode_secret(vector["secret"])
    signature = crypto.l2_signature(
        secret, vector["timestamp"], vector["method"], vector["path"], _l2_body(vector).encode()
    )
    assert signature == vector["signature"]


WALLETS = load("wallet_derivation_vectors.json")


@pytest.mark.parametrize("row", WALLETS["computed"], ids=lambda r: r["eoa"])
def test_it_derives_proxy_safe_and_both_deposit_wallets(row: dict[str, str]) -> None:
    owner = address_bytes(row["eoa"])
    assert wallets.proxy_wallet(owner) == address_bytes(row["poly_proxy"])
    assert wallets.safe_wallet(owner) == address_bytes(row["gnosis_safe"])
    assert wallets.deposit_wallets(owner) == (
        address_bytes(row["deposit_wallet_beacon"]),
        address_bytes(row["deposit_wallet_uups_legacy"]),
    )


@pytest.mark.parametrize("row", WALLETS["upstream"], ids=lambda r: r["kind"])
def test_it_reproduces_the_upstream_wallet_vectors(row: dict[str, str]) -> None:
    owner = address_bytes(row["eoa"])
    derived = {
        "safe": wallets.safe_wallet(owner),
        "deposit_uups": wallets.deposit_wallets(owner)[1],
        "deposit_beacon": wallets.deposit_wallets(owner)[0],
    }[row["kind"]]
    assert derived == address_bytes(row["expected"])


def test_it_verifies_the_upstream_poly1271_deposit_wallet_signature() -> None:
    vector = load("signing_vector_v2_poly1271_deposit_wallet_upstream.json")
    order = vector["order"]
    digest = crypto.typed_digest(
        crypto.order_domain_separator(vector["chain_id"], vector["verifyingContract"], "2"),
        crypto.order_struct_hash(
            salt=int(order["salt"]),
            maker=address_bytes(order["maker"]),
            signer=address_bytes(order["signer"]),
            token_id=int(order["tokenId"]),
            maker_amount=int(order["makerAmount"]),
            taker_amount=int(order["takerAmount"]),
            side=order["side"],
            signature_type=3,
            timestamp=int(order["timestamp"]),
            metadata=bytes(32),
            builder=bytes(32),
        ),
    )
    owner = address_bytes("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    # The vector's wallet (0x1111…) is not a CREATE2 address of the key, so its owner is declared.
    signed_by = verify_order_signature(
        digest=digest,
        chain_id=vector["chain_id"],
        maker=address_bytes(order["maker"]),
        signer=address_bytes(order["signer"]),
        signature_type=3,
        signature=bytes.fromhex(vector["expected_signature"][2:]),
        session_authorized=lambda wallet, key: False,
        registered_owner=lambda wallet: owner,
    )
    assert signed_by == owner
