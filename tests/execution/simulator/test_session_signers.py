"""Session signers on the simulated venue: the owner authorises and revokes through the relayer
endpoints the official client calls, and type-3 orders signed by the session key pass the
wallet's ERC-1271 check only while an unexpired, unrevoked CLOB grant names that key."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from polymarket import SecureClient, SignedOrder
from polymarket._internal.actions.relayer.calls import authorize_session_signer_call
from polymarket._internal.actions.relayer.signing.deposit_wallet import build_deposit_wallet_typed_data
from polymarket.errors import RequestRejectedError
from polymarket.models.clob.order_response import AcceptedOrder
from polymarket.types import EvmAddress, HexString

from execution.simulator import VenueSimulator
from execution.simulator.crypto import address_bytes, deposit_wallet_batch_digest
from tests.follower_side import authorise, deposit_wallet_of, owner_client, revoke, venue_environment

from .support import ADDR0, ADDR1, PK0, PK1, YES, scenario

pytestmark = pytest.mark.session_custody

WALLET0 = deposit_wallet_of(ADDR0)
WALLET1 = deposit_wallet_of(ADDR1)
SESSION_KEY = "0x" + "5e" * 32
SESSION = Account.from_key(SESSION_KEY).address


@pytest.fixture
def served() -> Iterator[VenueSimulator]:
    with VenueSimulator(scenario(balances=[])) as running:
        running.set_book(YES, bids=[("0.55", "100")], asks=[("0.57", "1000")])
        running.set_balance(WALLET0, pusd="100")
        running.set_balance(WALLET1, pusd="100")
        yield running


@pytest.fixture
def session_client(served: VenueSimulator) -> Iterator[SecureClient]:
    """The official client holding only the session key, acting for owner #0's deposit wallet:
    the SDK classifies it SESSION_KEY and wraps every signature with the 0x6492 suffix."""
    client = SecureClient.create(private_key=SESSION_KEY, wallet=WALLET0, environment=venue_environment(served.url))
    yield client
    client.close()


def a_buy(client: SecureClient) -> SignedOrder:
    return client.create_market_order(
        token_id=YES, side="BUY", amount=Decimal("5"), max_price=Decimal("0.60"), order_type="FAK"
    )


def refusal(client: SecureClient, order: SignedOrder) -> str:
    with pytest.raises(RequestRejectedError) as caught:
        client.post_order(order)
    assert caught.value.status == 400
    return str(caught.value)


def test_it_fills_a_session_key_order_while_the_owner_has_authorised_it(
    served: VenueSimulator, session_client: SecureClient
) -> None:
    result = authorise(served.url, PK0, SESSION)
    assert [str(scope) for scope in result.session_key.scopes] == ["CLOB"]
    order = a_buy(session_client)
    assert (order.signature_type, order.maker, order.signer) == (3, WALLET0, WALLET0)
    assert len(bytes.fromhex(order.signature[2:])) == 480
    accepted = session_client.post_order(order)
    assert isinstance(accepted, AcceptedOrder)
    assert (accepted.ok, accepted.status) == (True, "matched")
    assert served.order(accepted.order_id) is not None
    assert served.balances(WALLET0)["pusd"] < Decimal(100)


def test_it_refuses_a_session_key_order_before_any_authorisation(session_client: SecureClient) -> None:
    assert refusal(session_client, a_buy(session_client)) == "invalid signature"


def test_it_refuses_the_session_key_after_the_owner_revokes_it(
    served: VenueSimulator, session_client: SecureClient
) -> None:
    authorise(served.url, PK0, SESSION)
    assert session_client.post_order(a_buy(session_client)).ok is True
    revoke(served.url, PK0, SESSION)
    assert served.session_signers(WALLET0) == []
    assert refusal(session_client, a_buy(session_client)) == "invalid signature"


def test_it_refuses_the_session_key_once_its_authorisation_expired(
    served: VenueSimulator, session_client: SecureClient
) -> None:
    # The owner grants two seconds (through the relayer, as the SDK would with a shorter expiry).
    valid_until = int(served.clock()) + 2
    body = relayer_body(signer_key=PK0, wallet=WALLET0, nonce=0, deadline=valid_until + 600, valid_until=valid_until)
    with httpx.Client(base_url=served.url) as http:
        assert http.post("/v1/session-signers/authorizations", json=body, headers=BUILDER_HEADERS).status_code == 200
    assert session_client.post_order(a_buy(session_client)).ok is True
    while served.clock() < valid_until:
        time.sleep(0.05)
    assert refusal(session_client, a_buy(session_client)) == "invalid signature"
    assert served.session_signers(WALLET0) == []


def test_it_refuses_the_session_key_for_a_wallet_that_did_not_authorise_it(served: VenueSimulator) -> None:
    authorise(served.url, PK0, SESSION)  # owner #0 authorises it; owner #1 never does
    other = SecureClient.create(private_key=SESSION_KEY, wallet=WALLET1, environment=venue_environment(served.url))
    try:
        assert refusal(other, a_buy(other)) == "invalid signature"
    finally:
        other.close()


def test_it_refuses_a_session_key_authorised_for_another_scope(
    served: VenueSimulator, session_client: SecureClient
) -> None:
    authorise(served.url, PK0, SESSION, scopes=["COMBOSRFQ"])
    assert refusal(session_client, a_buy(session_client)) == "invalid signature"


def test_it_takes_a_session_key_authorised_for_all_venues(served: VenueSimulator, session_client: SecureClient) -> None:
    authorise(served.url, PK0, SESSION, scopes=["ALL"])
    assert session_client.post_order(a_buy(session_client)).ok is True


def test_it_refuses_a_wrapper_that_names_an_authorised_signer_but_was_signed_by_another_key(
    served: VenueSimulator, session_client: SecureClient
) -> None:
    authorise(served.url, PK0, SESSION)
    genuine = a_buy(session_client)
    intruder = SecureClient.create(private_key=PK1, wallet=WALLET0, environment=venue_environment(served.url))
    try:
        theirs = intruder.create_market_order(
            token_id=YES, side="BUY", amount=Decimal("5"), max_price=Decimal("0.60"), order_type="FAK"
        )
    finally:
        intruder.close()
    # Splice the intruder's inner signature into a wrapper that names the authorised signer.
    raw = bytearray(bytes.fromhex(theirs.signature[2:]))
    raw[12:32] = bytes.fromhex(SESSION[2:])
    forged = dataclasses.replace(theirs, signature=HexString("0x" + raw.hex()))
    assert forged.signature != genuine.signature
    assert refusal(session_client, forged) == "invalid signature"


def test_the_registry_read_shows_a_session_key_the_wallet_that_authorised_it(
    served: VenueSimulator, session_client: SecureClient
) -> None:
    authorise(served.url, PK0, SESSION)
    with owner_client(served.url, PK0) as owner:
        (listed,) = owner.fetch_session_keys()
    assert listed.address == SESSION
    seen_by_the_key = session_client._ctx.secure_clob.get_json("/v1/user/session-signers")
    assert seen_by_the_key["wallet"].lower() == WALLET0.lower()
    assert [signer["address"].lower() for signer in seen_by_the_key["signers"]] == [SESSION.lower()]
    assert seen_by_the_key["signers"][0]["scopes"] == ["CLOB"]


def relayer_body(*, signer_key: str, wallet: str, nonce: int, deadline: int, valid_until: int) -> dict[str, object]:
    call = authorize_session_signer_call(
        wallet_address=EvmAddress(wallet), session_signer=EvmAddress(SESSION), valid_until=valid_until
    )
    typed = build_deposit_wallet_typed_data(
        wallet=EvmAddress(wallet), calls=[call], nonce=str(nonce), deadline=str(deadline), chain_id=137
    )
    signature = Account.from_key(signer_key).sign_message(encode_typed_data(full_message=typed)).signature.hex()
    return {
        "deadline": str(deadline),
        "nonce": str(nonce),
        "scopes": ["CLOB"],
        "sessionSignerAddress": SESSION,
        "signature": "0x" + signature.removeprefix("0x"),
        "validUntil": str(valid_until),
        "walletAddress": wallet,
    }


BUILDER_HEADERS = {
    "POLY_BUILDER_API_KEY": "k",
    "POLY_BUILDER_PASSPHRASE": "p",
    "POLY_BUILDER_SIGNATURE": "s",
    "POLY_BUILDER_TIMESTAMP": "1",
}


def test_the_relayer_refuses_an_authorisation_not_signed_by_the_wallets_owner(served: VenueSimulator) -> None:
    now = int(served.clock())
    forged = relayer_body(signer_key=PK1, wallet=WALLET0, nonce=0, deadline=now + 600, valid_until=now + 3600)
    with httpx.Client(base_url=served.url) as http:
        answer = http.post("/v1/session-signers/authorizations", json=forged, headers=BUILDER_HEADERS)
        unsigned_headers = http.post("/v1/session-signers/authorizations", json=forged)
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": "invalid signature: not signed by the deposit wallet owner"},
    )
    assert unsigned_headers.status_code == 401
    assert served.session_signers(WALLET0) == []


def test_the_relayer_refuses_a_replayed_nonce_and_a_past_deadline(served: VenueSimulator) -> None:
    now = int(served.clock())
    first = relayer_body(signer_key=PK0, wallet=WALLET0, nonce=0, deadline=now + 600, valid_until=now + 3600)
    late = relayer_body(signer_key=PK0, wallet=WALLET0, nonce=1, deadline=now - 1, valid_until=now + 3600)
    with httpx.Client(base_url=served.url) as http:
        assert http.post("/v1/session-signers/authorizations", json=first, headers=BUILDER_HEADERS).status_code == 200
        replay = http.post("/v1/session-signers/authorizations", json=first, headers=BUILDER_HEADERS)
        past = http.post("/v1/session-signers/authorizations", json=late, headers=BUILDER_HEADERS)
    assert (replay.status_code, replay.json()) == (400, {"error": "invalid nonce"})
    assert (past.status_code, past.json()) == (400, {"error": "deadline expired"})


def test_its_batch_digest_is_the_eip712_digest_of_the_sdks_typed_data() -> None:
    call = authorize_session_signer_call(
        wallet_address=EvmAddress(WALLET0), session_signer=EvmAddress(SESSION), valid_until=1_800_000_000
    )
    typed = build_deposit_wallet_typed_data(
        wallet=EvmAddress(WALLET0), calls=[call], nonce="7", deadline="1790000000", chain_id=137
    )
    signable = encode_typed_data(full_message=typed)
    from eth_account.messages import _hash_eip191_message

    ours = deposit_wallet_batch_digest(
        chain_id=137,
        wallet=address_bytes(WALLET0),
        nonce=7,
        deadline=1_790_000_000,
        calls=[(address_bytes(WALLET0), 0, bytes.fromhex(call.data[2:]))],
    )
    assert ours == _hash_eip191_message(signable)
