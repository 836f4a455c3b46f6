"""Custody setup: signer address from a key, API credentials created or derived through L1 auth."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from polymarket._internal.l1_auth import build_api_key_auth_typed_data

from execution.venue.auth import ApiCredentials
from execution.venue.custody import custody_check_wallet, custody_derive
from execution.venue.errors import NotSent, SigningFailed, VenueRefused, WalletMismatch
from tests.execution.venue.conftest import ADDRESS_1, KEY_0, KEY_1, fixture, venue_settings
from tests.execution.venue.localserver import Handler, LocalVenue, Reply, Request, closed_port

ISSUED = {"apiKey": "0b4b1d6e-0000-4000-8000-000000000001", "secret": "c2VjcmV0LXNlY3JldA==", "passphrase": "pp-1"}


def _l1_checked(reply: Reply) -> Handler:
    """A venue-side L1 check: the ClobAuth signature must recover POLY_ADDRESS for its timestamp/nonce."""

    def answer(request: Request) -> Reply:
        headers = {k.upper(): v for k, v in request.headers.items()}
        typed = build_api_key_auth_typed_data(
            address=headers["POLY_ADDRESS"],
            chain_id=137,
            timestamp=int(headers["POLY_TIMESTAMP"]),
            nonce=int(headers["POLY_NONCE"]),
        )
        signer = Account.recover_message(encode_typed_data(full_message=typed), signature=headers["POLY_SIGNATURE"])
        if signer != headers["POLY_ADDRESS"]:
            return Reply(status=401, body={"error": "Invalid L1 Request headers"})
        return reply

    return answer


def test_it_creates_credentials_for_a_new_signer(local_venue: LocalVenue) -> None:
    local_venue.route("POST", "/auth/api-key", _l1_checked(Reply(body=ISSUED)))
    material = custody_derive(private_key=KEY_1, venue=venue_settings(local_venue.url))
    assert material.signer_address == ADDRESS_1
    assert material.derived
    assert material.credentials == ApiCredentials(key=ISSUED["apiKey"], secret=ISSUED["secret"], passphrase="pp-1")
    assert ISSUED["secret"] not in repr(material)
    assert local_venue.hits["/auth/derive-api-key"] == 0


def test_it_derives_the_existing_credentials_when_creation_is_refused(local_venue: LocalVenue) -> None:
    local_venue.route(
        "POST", "/auth/api-key", _l1_checked(Reply(status=400, body={"error": "Could not create api key"}))
    )
    local_venue.route("GET", "/auth/derive-api-key", _l1_checked(Reply(body=ISSUED)))
    material = custody_derive(private_key="  " + KEY_1 + "\n", venue=venue_settings(local_venue.url))
    assert material.credentials.key == ISSUED["apiKey"]
    assert (local_venue.hits["/auth/api-key"], local_venue.hits["/auth/derive-api-key"]) == (1, 1)


def test_supplied_credentials_are_kept_without_asking_the_venue() -> None:
    given = ApiCredentials(key="k", secret="s", passphrase="p")
    material = custody_derive(
        private_key=KEY_0, credentials=given, venue=venue_settings(f"http://127.0.0.1:{closed_port()}")
    )
    assert (material.credentials, material.derived) == (given, False)


def test_refusals_and_bad_keys_are_typed_and_secret_free(local_venue: LocalVenue) -> None:
    local_venue.route("POST", "/auth/api-key", Reply(status=401, body={"error": "Invalid L1 Request headers"}))
    with pytest.raises(VenueRefused) as refused:
        custody_derive(private_key=KEY_1, venue=venue_settings(local_venue.url))
    assert refused.value.status == 401
    with pytest.raises(SigningFailed) as bad:
        custody_derive(private_key=KEY_1[:-4] + "zzzz", venue=venue_settings(local_venue.url))
    assert KEY_1[2:-4] not in str(bad.value)
    with pytest.raises(NotSent):
        custody_derive(private_key=KEY_1, venue=venue_settings(f"http://127.0.0.1:{closed_port()}"))


def test_the_funder_is_checked_against_the_signers_wallets() -> None:
    row = fixture("wallet_derivation_vectors.json")["computed"][0]
    assert custody_check_wallet(signer_address=row["eoa"], funder_address=row["gnosis_safe"]).signature_type == 2
    with pytest.raises(WalletMismatch):
        custody_check_wallet(signer_address=row["eoa"], funder_address=row["gnosis_safe"], declared_signature_type=1)
    with pytest.raises(WalletMismatch):
        custody_check_wallet(signer_address=ADDRESS_1, funder_address=row["poly_proxy"])
