from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.keyring import open_secret
from accounts.models import TradingAccount
from copytrading.models import CopyTrade
from execution.simulator.server import VenueSimulator
from polyhunter.models import AuditEvent
from tests.factories import make_copy_trade, make_user
from tests.pages.conftest import (
    FAKE_API_KEY,
    FAKE_API_SECRET,
    FAKE_KEY,
    FAKE_PASSPHRASE,
    FAKE_PROXY,
    FAKE_SIGNER,
    Owned,
    speed_form,
)

pytestmark = pytest.mark.django_db
SECRETS = [FAKE_KEY, FAKE_KEY[2:], FAKE_API_KEY, FAKE_API_SECRET, FAKE_PASSPHRASE]


def set_speed(client: Client, account: TradingAccount, **changes: str) -> str:
    response = client.post(reverse("custody_speed", kwargs={"code": account.code}), speed_form(**changes), follow=True)
    assert response.status_code == 200
    return str(response.content.decode())


def assert_no_secret(text: str) -> None:
    lowered = text.lower()
    for secret in SECRETS:
        assert secret.lower() not in lowered


def test_a_new_account_starts_on_paper_and_is_audited(client: Client) -> None:
    user = make_user()
    client.force_login(user)
    response = client.post(reverse("custody"), {"label": "Main"}, follow=True)
    account = TradingAccount.objects.get(user=user)
    assert account.mode == TradingAccount.Mode.PAPER
    assert response.redirect_chain[-1][0] == reverse("custody_account", kwargs={"code": account.code})
    assert "Paper (simulated fills)" in response.content.decode()
    assert AuditEvent.objects.filter(action="account.create", actor_label=user.username).exists()


def test_a_second_account_with_the_same_name_is_refused(owner_client: Client, owned: Owned) -> None:
    response = owner_client.post(reverse("custody"), {"label": "Main"})
    assert "already have an account named" in response.content.decode()


def test_speed_custody_shows_the_derived_address_and_set_but_never_the_secrets(
    owner_client: Client, owned: Owned
) -> None:
    page = set_speed(owner_client, owned.account)
    owned.account.refresh_from_db()
    assert owned.account.mode == TradingAccount.Mode.SPEED
    assert owned.account.signer_address == FAKE_SIGNER
    assert owned.account.funder_address == FAKE_SIGNER
    assert FAKE_SIGNER in page
    assert page.count(">set<") == 2
    assert_no_secret(page)
    # Sealed, and opens to exactly what was entered (inside the process only).
    assert open_secret(account=owned.account, field="private_key_ciphertext").decode() == FAKE_KEY
    creds = json.loads(open_secret(account=owned.account, field="api_credentials_ciphertext"))
    assert creds == {"key": FAKE_API_KEY, "secret": FAKE_API_SECRET, "passphrase": FAKE_PASSPHRASE}


def test_the_audit_of_a_custody_change_holds_no_secret(owner_client: Client, owned: Owned) -> None:
    set_speed(owner_client, owned.account)
    event = AuditEvent.objects.get(action="custody.speed")
    assert event.after["signer_address"] == FAKE_SIGNER
    assert event.after["private_key"] == "set"
    assert_no_secret(json.dumps([event.before, event.after, event.reason]))


def test_a_key_without_0x_and_in_upper_case_is_stored_normalised(owner_client: Client, owned: Owned) -> None:
    set_speed(owner_client, owned.account, private_key=FAKE_KEY[2:].upper())
    owned.account.refresh_from_db()
    assert open_secret(account=owned.account, field="private_key_ciphertext").decode() == FAKE_KEY


def test_a_proxy_funder_with_its_wallet_type_is_accepted(owner_client: Client, owned: Owned) -> None:
    set_speed(owner_client, owned.account, funder_address=FAKE_PROXY, signature_type="1")
    owned.account.refresh_from_db()
    assert (owned.account.funder_address, owned.account.signature_type) == (FAKE_PROXY, 1)


def test_a_funder_declared_as_the_wrong_wallet_type_is_refused(owner_client: Client, owned: Owned) -> None:
    page = set_speed(owner_client, owned.account, funder_address=FAKE_PROXY, signature_type="2")
    assert "signature type 1" in page
    owned.account.refresh_from_db()
    assert owned.account.mode == TradingAccount.Mode.PAPER
    assert not owned.account.has_private_key
    assert_no_secret(page)


def test_a_funder_that_is_not_the_signers_wallet_is_refused(owner_client: Client, owned: Owned) -> None:
    page = set_speed(owner_client, owned.account, funder_address="0x" + "12" * 20, signature_type="1")
    assert "is not the EOA, proxy, Safe or deposit wallet of signer" in page
    owned.account.refresh_from_db()
    assert not owned.account.has_private_key


@pytest.mark.parametrize("bad_key", ["0x1234", "zz" * 32, FAKE_KEY + "00"])
def test_a_malformed_key_is_refused_without_repeating_it(owner_client: Client, owned: Owned, bad_key: str) -> None:
    page = set_speed(owner_client, owned.account, private_key=bad_key)
    assert "A private key is 64 hex characters" in page
    assert bad_key not in page
    assert_no_secret(page)


def test_a_key_outside_the_curve_is_refused_by_the_venue_helper(owner_client: Client, owned: Owned) -> None:
    page = set_speed(owner_client, owned.account, private_key="0x" + "ff" * 32)
    assert "This is not a valid private key" in page
    assert "ff" * 32 not in page


def test_some_but_not_all_api_fields_are_refused(owner_client: Client, owned: Owned) -> None:
    page = set_speed(owner_client, owned.account, api_secret="", api_passphrase="")
    assert "Enter all three API fields, or none" in page
    assert_no_secret(page)
    owned.account.refresh_from_db()
    assert not owned.account.has_private_key


def test_without_api_fields_the_credentials_are_derived_from_the_venue(
    owner_client: Client, owned: Owned, simulator: VenueSimulator
) -> None:
    page = set_speed(owner_client, owned.account, api_key="", api_secret="", api_passphrase="")
    owned.account.refresh_from_db()
    assert owned.account.has_api_credentials, page
    creds = json.loads(open_secret(account=owned.account, field="api_credentials_ciphertext"))
    issued = simulator.credentials(FAKE_SIGNER)
    assert creds["key"] == issued.key
    assert creds["key"] not in page
    assert creds["secret"] not in page
    assert AuditEvent.objects.get(action="custody.speed").after["credentials"] == "derived"


def test_an_unreachable_venue_when_deriving_is_a_clear_error(
    owner_client: Client, owned: Owned, settings: Settings
) -> None:
    settings.POLYMARKET_CLOB_URL = "http://127.0.0.1:9"
    page = set_speed(owner_client, owned.account, api_key="", api_secret="", api_passphrase="")
    assert "could not be reached" in page
    owned.account.refresh_from_db()
    assert not owned.account.has_private_key


def test_switching_to_paper_erases_the_stored_secrets(owner_client: Client, owned: Owned) -> None:
    set_speed(owner_client, owned.account)
    response = owner_client.post(reverse("custody_paper", kwargs={"code": owned.account.code}), follow=True)
    owned.account.refresh_from_db()
    assert owned.account.mode == TradingAccount.Mode.PAPER
    assert owned.account.private_key_ciphertext is None
    assert owned.account.api_credentials_ciphertext is None
    assert owned.account.signer_address == ""
    assert "now trades on paper" in response.content.decode()
    assert AuditEvent.objects.get(action="custody.paper").before["private_key"] == "set"


def test_custody_cannot_change_while_an_order_may_be_on_the_venue(owner_client: Client, owned: Owned) -> None:
    set_speed(owner_client, owned.account)
    make_copy_trade(owned.follow, status=CopyTrade.Status.UNKNOWN, order_hash="0x" + "cd" * 32)
    response = owner_client.post(reverse("custody_paper", kwargs={"code": owned.account.code}), follow=True)
    assert "still on their way to the venue" in response.content.decode()
    owned.account.refresh_from_db()
    assert owned.account.mode == TradingAccount.Mode.SPEED
    assert owned.account.has_private_key
