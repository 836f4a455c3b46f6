"""Offline signing for every signature type and exchange, the payload round trip and key hygiene."""

from __future__ import annotations

import dataclasses
import json
import socket
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from polymarket._internal.actions.orders.typed_data import _build_standard_typed_data, build_order_typed_data
from polymarket._internal.actions.orders.types import UnsignedOrder
from polymarket._internal.environment import EnvironmentConfig
from polymarket.types import EvmAddress

from accounts.keyring import seal_secret
from accounts.models import TradingAccount
from execution.venue.auth import ApiCredentials
from execution.venue.errors import CorruptPayload, SigningFailed, WalletMismatch
from execution.venue.orders import OrderRequest
from execution.venue.payload import SignedOrderPayload
from execution.venue.signing import order_sign, sign_order_with_key, wallet_classify
from tests.execution.venue.conftest import (
    ADDRESS_0,
    ADDRESS_1,
    API_KEY,
    API_PASSPHRASE,
    API_SECRET,
    KEY_0,
    KEY_1,
    fixture,
    market,
)
from tests.factories import TOKEN_YES, make_account

WALLETS = {row["eoa"]: row for row in fixture("wallet_derivation_vectors.json")["computed"]}[ADDRESS_0]
FUNDERS = {
    0: ADDRESS_0,
    1: WALLETS["poly_proxy"],
    2: WALLETS["gnosis_safe"],
    3: WALLETS["deposit_wallet_beacon"],
}
# A protocol-V2 position id: module 1, a condition in bits 104-247, reserved bits 40-103 zero.
V2_POSITION = str((1 << 248) | (0xABCDEF0123456789ABCDEF0123456789ABCD << 104))
STANDARD, NEG_RISK, V3 = (
    "0xE111180000d2663C0091e4f400237545B87B996B",
    "0xe2222d279d744050d28e00520010520000310F59",
    "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa",
)
REQUESTS = {
    "limit-buy": OrderRequest.limit(token_id=TOKEN_YES, side="BUY", price=Decimal("0.56"), size=Decimal("21.04")),
    "limit-sell": OrderRequest.limit(token_id=TOKEN_YES, side="SELL", price=Decimal("0.56"), size=Decimal("21.04")),
    "fak-buy": OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal(25), max_price=Decimal("0.57")),
    "fok-sell": OrderRequest.market_sell(
        token_id=TOKEN_YES, shares=Decimal(40), min_price=Decimal("0.5"), order_type="FOK"
    ),
}


def _unsigned_from(payload: SignedOrderPayload, *, chain_id: int = 137) -> UnsignedOrder:
    o = payload.order
    return UnsignedOrder(
        chain_id=chain_id,
        builder=o["builder"],
        exchange_address=EvmAddress(payload.exchange),
        expiration=int(o["expiration"]),
        maker=o["maker"],
        maker_amount=int(o["makerAmount"]),
        metadata=o["metadata"],
        order_type=payload.order_type,  # type: ignore[arg-type]
        salt=o["salt"],
        side=o["side"],
        signature_type=o["signatureType"],
        signer=o["signer"],
        taker_amount=int(o["takerAmount"]),
        timestamp=int(o["timestamp"]),
        token_id=o["tokenId"],
        protocol_version=payload.domain_version,  # type: ignore[arg-type]
    )


def _recovered_owner(payload: SignedOrderPayload) -> str:
    unsigned = _unsigned_from(payload)
    digest = _hash_eip191_message(encode_typed_data(full_message=build_order_typed_data(unsigned)))
    return str(Account._recover_hash(digest, signature=bytes.fromhex(payload.order["signature"][2:])[:65]))


@pytest.mark.parametrize("signature_type", [0, 1, 2, 3])
@pytest.mark.parametrize("kind", sorted(REQUESTS))
@pytest.mark.parametrize("neg_risk", [False, True])
def test_it_signs_every_signature_type_offline_for_the_right_exchange(
    signature_type: int, kind: str, neg_risk: bool, config: EnvironmentConfig
) -> None:
    payload = sign_order_with_key(
        private_key=KEY_0,
        api_key=API_KEY,
        funder=FUNDERS[signature_type],
        request=REQUESTS[kind],
        market=market(neg_risk=neg_risk),
        config=config,
        declared_signature_type=signature_type,
    )
    order = payload.order
    assert payload.exchange == (NEG_RISK if neg_risk else STANDARD)
    assert payload.domain_version == "2"
    assert order["signatureType"] == signature_type
    assert order["maker"] == FUNDERS[signature_type]
    assert order["signer"] == (FUNDERS[3] if signature_type == 3 else ADDRESS_0)
    assert payload.api_address == ADDRESS_0
    assert payload.order_type == REQUESTS[kind].order_type
    assert _recovered_owner(payload) == ADDRESS_0
    # Our hash == the SDK's typed-data digest of the plain Order (also for type 3's wrapper).
    standard = _build_standard_typed_data(_unsigned_from(payload), protocol_version=payload.domain_version)
    assert payload.order_hash == "0x" + _hash_eip191_message(encode_typed_data(full_message=standard)).hex()
    assert len(bytes.fromhex(order["signature"][2:])) == (317 if signature_type == 3 else 65)


def test_a_protocol_v2_position_is_signed_for_exchange_v3_with_domain_3(config: EnvironmentConfig) -> None:
    info = dataclasses.replace(market(neg_risk=True), token_ids=frozenset({V2_POSITION}))
    request = OrderRequest.market_buy(token_id=V2_POSITION, amount=Decimal(5), max_price=Decimal("0.5"))
    payload = sign_order_with_key(
        private_key=KEY_0, api_key=API_KEY, funder=ADDRESS_0, request=request, market=info, config=config
    )
    assert (payload.exchange, payload.domain_version) == (V3, "3")
    assert _recovered_owner(payload) == ADDRESS_0


def test_signing_opens_no_socket(monkeypatch: pytest.MonkeyPatch, config: EnvironmentConfig) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("signing tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for signature_type, funder in FUNDERS.items():
        for request in REQUESTS.values():
            sign_order_with_key(
                private_key=KEY_0,
                api_key=API_KEY,
                funder=funder,
                request=request,
                market=market(),
                config=config,
                declared_signature_type=signature_type,
            )


def test_every_signing_gets_a_fresh_csprng_salt_and_hash(config: EnvironmentConfig) -> None:
    payloads = [
        sign_order_with_key(
            private_key=KEY_0,
            api_key=API_KEY,
            funder=ADDRESS_0,
            request=REQUESTS["fak-buy"],
            market=market(),
            config=config,
        )
        for _ in range(50)
    ]
    salts = {p.order["salt"] for p in payloads}
    assert len(salts) == 50
    assert all(0 <= salt < 2**53 for salt in salts)
    assert len({p.order_hash for p in payloads}) == 50


def test_a_mistyped_proxy_is_refused_instead_of_becoming_a_session_key_order(config: EnvironmentConfig) -> None:
    typo = WALLETS["poly_proxy"][:-2] + ("00" if WALLETS["poly_proxy"][-2:] != "00" else "11")
    with pytest.raises(WalletMismatch):
        sign_order_with_key(
            private_key=KEY_0,
            api_key=API_KEY,
            funder=typo.lower(),
            request=REQUESTS["limit-buy"],
            market=market(),
            config=config,
        )
    with pytest.raises(WalletMismatch, match="signature type 1"):
        wallet_classify(signer=ADDRESS_0, funder=WALLETS["gnosis_safe"], config=config, declared_signature_type=1)
    with pytest.raises(WalletMismatch, match="checksum"):
        wallet_classify(signer=ADDRESS_0, funder=ADDRESS_0.replace("f39F", "F39f"), config=config)
    with pytest.raises(WalletMismatch):
        wallet_classify(signer=ADDRESS_1, funder=WALLETS["poly_proxy"], config=config)


def test_the_payload_survives_a_jsonb_round_trip_byte_for_byte(config: EnvironmentConfig) -> None:
    payload = sign_order_with_key(
        private_key=KEY_0,
        api_key=API_KEY,
        funder=ADDRESS_0,
        request=REQUESTS["limit-sell"],
        market=market(),
        config=config,
    )
    # JSONB reorders keys; the body is kept as text so the re-sent bytes cannot change.
    stored = json.loads(json.dumps(payload.to_json(), sort_keys=True))
    restored = SignedOrderPayload.from_json(stored)
    assert restored == payload
    assert restored.body.encode() == payload.body.encode()


def test_a_tampered_payload_is_refused(config: EnvironmentConfig) -> None:
    stored = sign_order_with_key(
        private_key=KEY_0,
        api_key=API_KEY,
        funder=ADDRESS_0,
        request=REQUESTS["limit-buy"],
        market=market(),
        config=config,
    ).to_json()
    bigger = dict(stored, body=stored["body"].replace('"takerAmount":"21040000"', '"takerAmount":"91040000"'))
    with pytest.raises(CorruptPayload, match="hashes to"):
        SignedOrderPayload.from_json(bigger)
    with pytest.raises(CorruptPayload):
        SignedOrderPayload.from_json({k: v for k, v in stored.items() if k != "order_hash"})
    with pytest.raises(CorruptPayload):
        SignedOrderPayload.from_json(dict(stored, order_type="FOK"))
    # Fields out of their ABI type's range do not hash (uint8 signature type, uint256 amounts).
    for field, value in (('"signatureType":0', '"signatureType":256'), ('"salt":', '"salt":-')):
        with pytest.raises(CorruptPayload, match="does not parse"):
            SignedOrderPayload.from_json(dict(stored, body=stored["body"].replace(field, value, 1)))


def _speed_account(*, key: str, funder: str, signature_type: int, signer: str = ADDRESS_0) -> TradingAccount:
    account = make_account(
        mode=TradingAccount.Mode.SPEED, signer_address=signer, funder_address=funder, signature_type=signature_type
    )
    seal_secret(account=account, field="private_key_ciphertext", plaintext=key.encode())
    creds = ApiCredentials(key=API_KEY, secret=API_SECRET, passphrase=API_PASSPHRASE)
    seal_secret(account=account, field="api_credentials_ciphertext", plaintext=creds.to_json_bytes())
    account.save()
    return account


@pytest.mark.django_db
def test_order_sign_opens_the_account_key_and_signs_for_its_wallet(config: EnvironmentConfig) -> None:
    account = _speed_account(key=KEY_0, funder=WALLETS["gnosis_safe"].lower(), signature_type=2)
    account.refresh_from_db()
    payload = order_sign(account=account, request=REQUESTS["fak-buy"], market=market(), config=config)
    assert payload.order["signatureType"] == 2
    assert payload.order["maker"] == WALLETS["gnosis_safe"]
    assert payload.owner == API_KEY
    assert _recovered_owner(payload) == ADDRESS_0
    assert KEY_0[2:] not in repr(payload.to_json())
    assert API_SECRET not in payload.body


@pytest.mark.django_db
def test_order_sign_refuses_a_key_that_is_not_the_accounts_signer(config: EnvironmentConfig) -> None:
    account = _speed_account(key=KEY_1, funder=ADDRESS_0.lower(), signature_type=0)
    with pytest.raises(WalletMismatch) as refused:
        order_sign(account=account, request=REQUESTS["limit-buy"], market=market(), config=config)
    assert KEY_1[2:] not in str(refused.value)


@pytest.mark.django_db
def test_order_sign_refuses_a_declared_type_the_addresses_do_not_prove(config: EnvironmentConfig) -> None:
    account = _speed_account(key=KEY_0, funder=WALLETS["poly_proxy"].lower(), signature_type=2)
    with pytest.raises(WalletMismatch, match="POLY_PROXY"):
        order_sign(account=account, request=REQUESTS["limit-buy"], market=market(), config=config)


@pytest.mark.django_db
def test_an_unreadable_key_fails_without_showing_any_secret(config: EnvironmentConfig) -> None:
    account = _speed_account(key="0xnot-a-key-" + KEY_0[12:], funder=ADDRESS_0.lower(), signature_type=0)
    with pytest.raises(SigningFailed) as failed:
        order_sign(account=account, request=REQUESTS["limit-buy"], market=market(), config=config)
    assert KEY_0[12:] not in str(failed.value)
    assert failed.value.__cause__ is None
    assert failed.value.__suppress_context__
    paper = make_account()
    with pytest.raises(SigningFailed):
        order_sign(account=paper, request=REQUESTS["limit-buy"], market=market(), config=config)


def test_credentials_never_show_their_secrets() -> None:
    creds = ApiCredentials(key=API_KEY, secret=API_SECRET, passphrase=API_PASSPHRASE)
    assert API_SECRET not in repr(creds)
    assert API_PASSPHRASE not in repr(creds)
    assert API_KEY not in repr(creds)
    assert ApiCredentials.from_json_bytes(creds.to_json_bytes()) == creds
    with pytest.raises(SigningFailed) as bad:
        ApiCredentials.from_json_bytes(b'{"key": "k", "secret": "' + API_SECRET.encode() + b'"}')
    assert API_SECRET not in str(bad.value)
