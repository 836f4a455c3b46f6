"""Session custody services against the simulated venue: set-up from an owner address only,
verification through the venue's registry, the states a follower sees, signing refusals, the
rotation that keeps the old signer until the new one is authorised, and the keys' sealing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from eth_account import Account
from pytest_django.fixtures import Settings

from accounts.keyring import DecryptionError, open_session_secret
from accounts.models import SessionKey, TradingAccount
from execution.custody import custody_set_paper, custody_status
from execution.session_custody import (
    SessionCustodyError,
    custody_set_session,
    session_check,
    session_ready,
    session_rotate,
    session_rotation_progress,
    session_rotation_start,
    session_sign,
    session_status,
    session_use_wallet,
    session_verify,
)
from execution.simulator import VenueSimulator
from execution.venue.errors import SigningFailed
from execution.venue.gateway import default_gateway
from execution.venue.orders import OrderRequest
from polyhunter.models import AuditEvent
from tests.factories import TOKEN_NO, TOKEN_YES, make_account
from tests.follower_side import authorise, deposit_wallet_of, revoke

pytestmark = [pytest.mark.session_custody, pytest.mark.django_db]

# Public development keys (Hardhat #3, #4): the followers' own keys live only in this test.
OWNER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
OWNER = Account.from_key(OWNER_KEY).address
OTHER_OWNER_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"
CONDITION = "0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af"


@pytest.fixture
def venue(settings: Settings) -> Iterator[VenueSimulator]:
    market = {"condition_id": CONDITION, "tokens": [{"token_id": TOKEN_YES, "outcome": "Yes"}, {"token_id": TOKEN_NO}]}
    with VenueSimulator({"markets": [market]}) as sim:
        sim.set_book(TOKEN_YES, bids=[("0.49", "500")], asks=[("0.51", "500")])
        settings.POLYMARKET_CLOB_URL = sim.url
        settings.POLYMARKET_DATA_URL = sim.url
        default_gateway.cache_clear()
        yield sim
    default_gateway.cache_clear()


def set_up(venue: VenueSimulator, *, owner: str = OWNER) -> TradingAccount:
    account = custody_set_session(account=make_account(), owner_address=owner, actor="follower")
    account.refresh_from_db()
    return account


def signer_of(account: TradingAccount) -> str:
    status = session_status(account)
    assert status is not None
    return status.signer_address


def a_buy() -> OrderRequest:
    return OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal(5), max_price=Decimal("0.6"))


def test_set_up_takes_only_the_owner_address_and_shows_what_to_authorise(venue: VenueSimulator) -> None:
    account = set_up(venue)
    assert account.mode == TradingAccount.Mode.SESSION
    assert account.owner_address == OWNER.lower()
    assert account.funder_address == deposit_wallet_of(OWNER).lower()
    assert account.signature_type == 3
    assert (account.private_key_ciphertext, account.api_credentials_ciphertext, account.signer_address) == (
        None,
        None,
        "",
    )
    status = session_status(account)
    assert status is not None
    assert (status.state, status.ready, status.deposit_wallet) == ("pending", False, account.funder_address)
    (key,) = SessionKey.objects.filter(account=account)
    assert (key.state, key.address, key.wallet_address) == ("pending", status.signer_address, account.funder_address)
    # The session signer's own CLOB credentials came from the venue (L1 signed by the session key).
    creds = json.loads(open_session_secret(session_key=key, field="api_credentials_ciphertext"))
    assert creds["key"] == venue.credentials(key.address).key
    audit = AuditEvent.objects.get(action="custody.session")
    assert audit.after["funder_address"] == account.funder_address
    assert "key_ciphertext" not in json.dumps(audit.after)


def test_the_same_owner_again_shows_the_same_signer(venue: VenueSimulator) -> None:
    account = set_up(venue)
    again = custody_set_session(account=account, owner_address=OWNER.lower(), actor="follower")
    assert signer_of(again) == signer_of(account)
    assert SessionKey.objects.filter(account=account).count() == 1


def test_an_invalid_owner_address_is_refused_in_plain_words(venue: VenueSimulator) -> None:
    with pytest.raises(SessionCustodyError, match="Not a valid 0x address"):
        custody_set_session(account=make_account(), owner_address="0x12", actor="follower")


def test_nothing_is_active_until_the_venue_lists_the_authorisation(venue: VenueSimulator) -> None:
    account = set_up(venue)
    with pytest.raises(SessionCustodyError, match="does not list PolyHunter's signer"):
        session_verify(account=account, actor="follower")
    assert not session_ready(account)
    with pytest.raises(SigningFailed):
        session_sign(account=account, request=a_buy(), market=default_gateway().market_info(TOKEN_YES))


def test_a_verified_authorisation_makes_the_account_active_with_its_scope_and_expiry(venue: VenueSimulator) -> None:
    account = set_up(venue)
    granted = authorise(venue.url, OWNER_KEY, signer_of(account))
    account = session_verify(account=account, actor="follower")
    status = session_status(account)
    assert status is not None
    assert (status.state, status.ready, status.scope) == ("active", True, "CLOB")
    assert status.valid_until == granted.session_key.valid_until
    assert account.signer_address == status.signer_address
    assert custody_status(account).ready is True
    payload = session_sign(account=account, request=a_buy(), market=default_gateway().market_info(TOKEN_YES))
    assert payload.order["maker"].lower() == account.funder_address
    assert payload.api_address.lower() == account.signer_address


def test_a_grant_for_another_scope_or_another_wallet_is_not_accepted(venue: VenueSimulator) -> None:
    account = set_up(venue)
    authorise(venue.url, OWNER_KEY, signer_of(account), scopes=["COMBOSRFQ"])
    with pytest.raises(SessionCustodyError, match="not for CLOB trading"):
        session_verify(account=account, actor="follower")
    other = set_up(venue, owner=Account.from_key(OTHER_OWNER_KEY).address)
    # The other follower's wallet authorises *this* account's signer: still not this wallet.
    authorise(venue.url, OTHER_OWNER_KEY, signer_of(account))
    with pytest.raises(SessionCustodyError):
        session_verify(account=account, actor="follower")
    assert not session_ready(other)


def test_an_authorisation_close_to_its_end_is_flagged_and_an_ended_one_stops_signing(venue: VenueSimulator) -> None:
    account = set_up(venue)
    soon = int((timezone.now() + timedelta(days=3)).timestamp())
    venue.authorize_session_signer(account.funder_address, signer_of(account), valid_until=soon)
    account = session_verify(account=account, actor="follower")
    status = session_status(account)
    assert status is not None
    assert (status.state, status.ready) == ("expiring_soon", True)
    assert "expires in 2 day(s)" in status.words or "expires in 3 day(s)" in status.words
    later = timezone.now() + timedelta(days=4)
    expired = session_status(account, now=later)
    assert expired is not None
    assert (expired.state, expired.ready) == ("expired", False)
    with pytest.raises(SigningFailed, match="expired on"):
        session_sign(account=account, request=a_buy(), market=default_gateway().market_info(TOKEN_YES), now=later)


def test_the_older_deposit_wallet_can_be_chosen_before_activation(venue: VenueSimulator) -> None:
    account = set_up(venue)
    status = session_status(account)
    assert status is not None
    account = session_use_wallet(account=account, wallet=status.other_wallet, actor="follower")
    assert account.funder_address == status.other_wallet
    key = SessionKey.objects.get(account=account, state="pending")
    assert key.wallet_address == status.other_wallet
    with pytest.raises(SessionCustodyError):
        session_use_wallet(
            account=account, wallet=deposit_wallet_of(Account.from_key(OTHER_OWNER_KEY).address), actor="follower"
        )


def test_a_session_key_never_signs_for_a_wallet_that_did_not_authorise_it(venue: VenueSimulator) -> None:
    account = set_up(venue)
    authorise(venue.url, OWNER_KEY, signer_of(account))
    account = session_verify(account=account, actor="follower")
    market = default_gateway().market_info(TOKEN_YES)
    # The account row pointed at another wallet (a bug, a bad edit): the key refuses to sign.
    account.funder_address = deposit_wallet_of(Account.from_key(OTHER_OWNER_KEY).address).lower()
    with pytest.raises(SigningFailed, match="does not belong to this account's deposit wallet"):
        session_sign(account=account, request=a_buy(), market=market)
    # The key row moved to another account: its sealed secrets no longer open.
    account.refresh_from_db()
    key = SessionKey.objects.get(account=account, state="current")
    key.account = make_account()
    with pytest.raises(DecryptionError):
        open_session_secret(session_key=key, field="key_ciphertext")


def test_rotation_keeps_the_old_signer_until_the_new_one_is_authorised_then_erases_it(venue: VenueSimulator) -> None:
    accounts = [set_up(venue)]
    authorise(venue.url, OWNER_KEY, signer_of(accounts[0]))
    accounts[0] = session_verify(account=accounts[0], actor="follower")
    old = SessionKey.objects.get(account=accounts[0], state="current")

    progress = session_rotation_start(actor="staff")
    assert (progress.waiting, progress.moved) == (1, 0)
    new = SessionKey.objects.get(account=accounts[0], state="pending")
    status = session_status(accounts[0])
    assert status is not None
    assert (status.state, status.signer_address, status.rotating_from) == ("active", new.address, old.address)
    market = default_gateway().market_info(TOKEN_YES)
    still = session_sign(account=accounts[0], request=a_buy(), market=market)
    assert still.api_address.lower() == old.address  # the old signer trades while the new one waits

    with pytest.raises(SessionCustodyError):
        session_verify(account=accounts[0], actor="follower")  # the new signer is not authorised yet
    authorise(venue.url, OWNER_KEY, new.address)
    moved = session_verify(account=accounts[0], actor="follower")
    assert moved.signer_address == new.address
    old.refresh_from_db()
    assert (old.state, old.key_ciphertext, old.api_credentials_ciphertext) == ("retired", None, None)
    assert session_rotation_progress().moved == 1
    assert session_sign(account=moved, request=a_buy(), market=market).api_address.lower() == new.address
    assert session_rotate(account=moved, actor="follower").state == "pending"


def test_the_periodic_check_records_a_revocation_before_any_order_meets_it(venue: VenueSimulator) -> None:
    account = set_up(venue)
    authorise(venue.url, OWNER_KEY, signer_of(account))
    account = session_verify(account=account, actor="follower")
    assert session_check(account=account) == "active"
    revoke(venue.url, OWNER_KEY, account.signer_address)
    assert session_check(account=account) == "revoked"
    status = session_status(account)
    assert status is not None
    assert (status.state, status.ready) == ("revoked", False)
    # Authorised again: the same signer verifies and signs again.
    authorise(venue.url, OWNER_KEY, account.signer_address)
    assert session_status(session_verify(account=account, actor="follower")) is not None
    assert session_ready(account)


def test_leaving_session_mode_erases_the_session_keys(venue: VenueSimulator) -> None:
    account = set_up(venue)
    custody_set_paper(account=account, actor="follower")
    account.refresh_from_db()
    assert account.owner_address == ""
    (key,) = SessionKey.objects.filter(account=account)
    assert (key.state, key.key_ciphertext, key.api_credentials_ciphertext) == ("retired", None, None)


def test_an_api_key_the_venue_forgot_is_derived_again_with_the_session_key(venue: VenueSimulator) -> None:
    account = set_up(venue)
    authorise(venue.url, OWNER_KEY, signer_of(account))
    account = session_verify(account=account, actor="follower")
    key = SessionKey.objects.get(account=account, state="current")
    api_key = json.loads(open_session_secret(session_key=key, field="api_credentials_ciphertext"))["key"]
    venue.revoke_api_key(api_key)  # deleted at the venue (or a restarted venue forgot it)
    assert session_check(account=account) == "active"
    # A deleted key never comes back (the venue issues a new one): the new one is sealed and used.
    key.refresh_from_db()
    renewed = json.loads(open_session_secret(session_key=key, field="api_credentials_ciphertext"))["key"]
    assert renewed != api_key
    assert venue.api_keys_of(account.signer_address) == [renewed]
