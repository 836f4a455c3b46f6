"""Session custody on the follower pages: the owner address in, what to authorise out, the
authorisation's state on the account page and the dashboard, and never a secret on a page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from eth_account import Account

from accounts.keyring import open_session_secret
from accounts.models import SessionKey, TradingAccount
from copytrading.controls import SESSION_LOST_PAUSE, account_session_lost
from execution.simulator.server import VenueSimulator
from tests.follower_side import authorise, deposit_wallet_of, revoke
from tests.pages.conftest import Owned

pytestmark = [pytest.mark.session_custody, pytest.mark.django_db]

OWNER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"  # Hardhat #3, never funded
OWNER = Account.from_key(OWNER_KEY).address


def post(client: Client, name: str, account: TradingAccount, data: dict[str, str] | None = None) -> str:
    response = client.post(reverse(name, kwargs={"code": account.code}), data or {}, follow=True)
    assert response.status_code == 200
    return str(response.content.decode())


def session_secrets(account: TradingAccount) -> list[str]:
    found = []
    for key in SessionKey.objects.filter(account=account).exclude(key_ciphertext=None):
        found.append(open_session_secret(session_key=key, field="key_ciphertext").decode().removeprefix("0x"))
        creds = json.loads(open_session_secret(session_key=key, field="api_credentials_ciphertext"))
        found += [creds["secret"], creds["passphrase"]]
    assert found
    return found


def assert_clean(page: str, account: TradingAccount) -> None:
    lowered = page.lower()
    for secret in session_secrets(account):
        assert secret.lower() not in lowered


def test_the_owner_address_in_shows_the_deposit_wallet_and_what_to_authorise(
    owner_client: Client, owned: Owned, simulator: VenueSimulator
) -> None:
    page = post(owner_client, "custody_session", owned.account, {"owner_address": OWNER})
    owned.account.refresh_from_db()
    key = SessionKey.objects.get(account=owned.account)
    wallet = deposit_wallet_of(OWNER).lower()
    assert owned.account.funder_address == wallet
    assert 'data-state="pending"' in page
    for shown in (OWNER.lower(), wallet, key.address, "scope", "CLOB", "authorize_session_key", "I have authorised it"):
        assert shown in page
    assert "never asked for, never stored" in page
    assert_clean(page, owned.account)


def test_a_malformed_owner_address_is_shown_next_to_the_field(
    owner_client: Client, owned: Owned, simulator: VenueSimulator
) -> None:
    page = post(owner_client, "custody_session", owned.account, {"owner_address": "0xnot-an-address"})
    assert "is not a 0x-prefixed 20-byte hex address" in page
    owned.account.refresh_from_db()
    assert owned.account.mode == TradingAccount.Mode.PAPER


def test_checking_before_authorising_says_so_then_the_authorisation_shows_scope_and_expiry(
    owner_client: Client, owned: Owned, simulator: VenueSimulator
) -> None:
    post(owner_client, "custody_session", owned.account, {"owner_address": OWNER})
    signer = SessionKey.objects.get(account=owned.account).address
    early = post(owner_client, "custody_session_verify", owned.account)
    assert "does not list PolyHunter&#x27;s signer" in early
    granted = authorise(simulator.url, OWNER_KEY, signer)
    page = post(owner_client, "custody_session_verify", owned.account)
    assert "Authorisation confirmed" in page
    assert 'data-state="active"' in page
    assert f"{granted.session_key.valid_until:%Y-%m-%d}" in page
    assert "revoke_session_key" in page
    assert "<td>CLOB</td>" in page
    assert_clean(page, owned.account)
    dashboard = owner_client.get(reverse("dashboard")).content.decode()
    assert 'id="custody-alerts"' not in dashboard
    assert_clean(dashboard, owned.account)


def test_a_refused_signer_pauses_and_re_authorising_from_the_page_resumes(
    owner_client: Client, owned: Owned, simulator: VenueSimulator
) -> None:
    post(owner_client, "custody_session", owned.account, {"owner_address": OWNER})
    signer = SessionKey.objects.get(account=owned.account).address
    authorise(simulator.url, OWNER_KEY, signer)
    post(owner_client, "custody_session_verify", owned.account)
    owned.account.refresh_from_db()
    revoke(simulator.url, OWNER_KEY, signer)
    account_session_lost(account=owned.account, detail="invalid signature")
    page = owner_client.get(reverse("custody_account", kwargs={"code": owned.account.code})).content.decode()
    assert 'data-state="revoked"' in page
    assert "Copies are stopped: authorise the session signer again" in page
    assert "paused: your deposit wallet no longer authorises" in page
    dashboard = owner_client.get(reverse("dashboard")).content.decode()
    assert 'id="custody-alerts"' in dashboard
    assert "revoked" in dashboard

    authorise(simulator.url, OWNER_KEY, signer)
    again = post(owner_client, "custody_session_verify", owned.account)
    assert 'data-state="active"' in again
    owned.account.refresh_from_db()
    assert not owned.account.paused


def test_an_authorisation_ending_soon_is_flagged_on_the_page_and_the_dashboard(
    owner_client: Client, owned: Owned, simulator: VenueSimulator
) -> None:
    post(owner_client, "custody_session", owned.account, {"owner_address": OWNER})
    key = SessionKey.objects.get(account=owned.account)
    ending = int((timezone.now() + timedelta(days=5)).timestamp())
    simulator.authorize_session_signer(key.wallet_address, key.address, valid_until=ending)
    page = post(owner_client, "custody_session_verify", owned.account)
    assert 'data-state="expiring_soon"' in page
    assert "renew it" in page
    dashboard = owner_client.get(reverse("dashboard")).content.decode()
    assert "expiring soon" in dashboard
    assert "renew it" in dashboard


def test_the_older_wallet_is_offered_and_used_only_before_activation(
    owner_client: Client, owned: Owned, simulator: VenueSimulator
) -> None:
    page = post(owner_client, "custody_session", owned.account, {"owner_address": OWNER})
    current = SessionKey.objects.get(account=owned.account).wallet_address
    assert "use that wallet" in page
    legacy = page.split('name="wallet" value="')[1].split('"')[0]
    switched = post(owner_client, "custody_session_wallet", owned.account, {"wallet": legacy})
    owned.account.refresh_from_db()
    assert owned.account.funder_address == legacy != current
    assert SessionKey.objects.get(account=owned.account, state="pending").wallet_address == legacy
    assert "Deposit wallet changed" in switched


def test_replacing_the_signer_shows_the_new_one_while_the_old_one_keeps_copying(
    owner_client: Client, owned: Owned, simulator: VenueSimulator
) -> None:
    post(owner_client, "custody_session", owned.account, {"owner_address": OWNER})
    old = SessionKey.objects.get(account=owned.account).address
    authorise(simulator.url, OWNER_KEY, old)
    post(owner_client, "custody_session_verify", owned.account)
    page = post(owner_client, "custody_session_rotate", owned.account)
    new = SessionKey.objects.get(account=owned.account, state="pending").address
    assert "Authorise the new session signer" in page
    assert new in page
    assert f'The current signer <span class="mono">{old}</span> keeps copying' in page
    assert_clean(page, owned.account)
    assert SESSION_LOST_PAUSE not in page


def test_staff_see_the_session_key_facts_and_never_its_secrets(
    owner_client: Client, owned: Owned, simulator: VenueSimulator
) -> None:
    from accounts.models import User

    post(owner_client, "custody_session", owned.account, {"owner_address": OWNER})
    key = SessionKey.objects.get(account=owned.account)
    staff = Client()
    staff.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root"))
    pages = [
        reverse("admin:accounts_sessionkey_changelist"),
        reverse("admin:accounts_sessionkey_change", args=[key.pk]),
        reverse("admin:accounts_tradingaccount_change", args=[owned.account.pk]),
        reverse("admin:polyhunter_auditevent_changelist"),
    ]
    for url in pages:
        page = staff.get(url).content.decode()
        if "sessionkey" in url:
            assert key.address in page
            assert key.wallet_address in page
        assert_clean(page, owned.account)
