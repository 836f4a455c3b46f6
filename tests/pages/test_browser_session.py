"""Session-key custody in a real browser: a follower gives their owner address, authorises
PolyHunter's session signer with their own tools, and a leader trade is copied from their
deposit wallet — while no private key of theirs is anywhere in the database.

Uses the browser fixtures of ``test_browser.py`` (chromium, the simulated venue with one market,
the live server and a real Dramatiq worker)."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.apps import apps
from django.db import models
from eth_account import Account
from playwright.sync_api import Browser, expect

from accounts.keyring import open_secret, open_session_secret
from accounts.models import SessionKey, TradingAccount
from copytrading.models import CopyTrade
from copytrading.tasks import platform_tick
from execution.simulator.server import VenueSimulator
from tests.factories import make_account, make_user
from tests.follower_side import authorise
from tests.pages.browser_support import log_in, shot
from tests.pages.test_browser import (  # noqa: F401  (fixtures)
    LEADER,
    PIPELINE_WAIT_MS,
    app,
    replay,
    venue,
)

pytestmark = [pytest.mark.browser, pytest.mark.session_custody, pytest.mark.django_db(transaction=True)]

# The follower's own key (a public development key, Hardhat #5): it lives in this test only,
# standing for the follower's wallet software on the follower's own computer.
OWNER_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
OWNER = Account.from_key(OWNER_KEY).address


def database_text() -> str:
    """Every value of every row of every table, and every sealed secret opened: one haystack."""
    chunks: list[str] = []
    for model in apps.get_models():
        for row in model._default_manager.all().values():
            for value in row.values():
                if isinstance(value, bytes | memoryview):
                    raw = bytes(value)
                    chunks += [raw.hex(), raw.decode("latin-1")]
                elif value is not None:
                    chunks.append(value if isinstance(value, str) else json.dumps(value, default=str))
    for account in TradingAccount.objects.all():
        for field in ("private_key_ciphertext", "api_credentials_ciphertext"):
            if getattr(account, field) is not None:
                chunks.append(open_secret(account=account, field=field).decode())
    for key in SessionKey.objects.exclude(key_ciphertext=None):
        for field in ("key_ciphertext", "api_credentials_ciphertext"):
            chunks.append(open_session_secret(session_key=key, field=field).decode())
    return "\n".join(chunks).lower()


def follow_to_settlement(account: TradingAccount) -> None:
    """Tick the platform as the scheduler does (the worker then reconciles) until the fill is
    confirmed on chain: the venue settles real orders, unlike paper fills, a moment later."""
    deadline = time.monotonic() + PIPELINE_WAIT_MS / 1000
    while time.monotonic() < deadline:
        if CopyTrade.objects.filter(account=account, status=CopyTrade.Status.CONFIRMED).exists():
            return
        platform_tick.send()
        time.sleep(0.5)
    raise AssertionError("the copy was not confirmed on chain in time")


def models_scanned() -> list[type[models.Model]]:
    return list(apps.get_models())


def test_a_follower_sets_up_session_custody_in_the_browser_and_a_leader_trade_is_copied_without_their_key(
    chromium: Browser,
    app: str,  # noqa: F811
    venue: VenueSimulator,  # noqa: F811
) -> None:
    user = make_user("grace", password="pw-grace-long-enough")
    account = make_account(user, label="Main")
    page = chromium.new_context().new_page()
    log_in(page, app, "grace", "pw-grace-long-enough")
    page.goto(app + f"/custody/{account.code}/")
    page.fill("#id_owner_address", OWNER)
    shot(page, "20-custody-session-owner-address")
    page.get_by_role("button", name="Use my deposit wallet").click()

    steps = page.locator("#session-authorise")
    expect(steps).to_contain_text("Authorise PolyHunter's session signer")
    expect(page.locator("#session-state")).to_have_attribute("data-state", "pending")
    signer = page.locator("#session-signer").inner_text().strip()
    wallet = page.locator("#session-wallet").inner_text().strip()
    assert re.fullmatch(r"0x[0-9a-f]{40}", signer)
    assert wallet == SessionKey.objects.get(account=account).wallet_address
    shot(page, "21-custody-session-authorise")

    # The follower, on their own machine, authorises the signer with the official SDK.
    authorise(venue.url, OWNER_KEY, signer)
    venue.set_balance(wallet, pusd="200")
    page.get_by_role("button", name="I have authorised it").click()
    expect(page.locator("#session-state")).to_have_attribute("data-state", "active")
    expect(page.locator("#custody-status")).to_contain_text("CLOB")
    expect(page.locator("#custody-status")).to_contain_text(wallet)
    shot(page, "22-custody-session-active")

    page.get_by_role("link", name="Follows", exact=True).click()
    page.get_by_role("link", name="or follow a wallet by address").click()
    page.fill("#id_leader_address", LEADER)
    page.fill("#id_sizing_value", "5")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.locator(".follow-status")).to_contain_text("copying")

    page.get_by_role("link", name="Dashboard", exact=True).click()
    replay(price="0.50")  # the book asks 0.51: within the 3 % slippage
    expect(page.locator("#recent-copies")).to_contain_text("filled", timeout=PIPELINE_WAIT_MS)
    follow_to_settlement(account)
    expect(page.locator("#recent-copies")).to_contain_text("filled and settled on chain", timeout=PIPELINE_WAIT_MS)
    shot(page, "23-dashboard-session-copy")

    copy = CopyTrade.objects.get(account=account)
    assert copy.status == CopyTrade.Status.CONFIRMED
    (order,) = venue.orders(maker=wallet)
    assert order["id"] == copy.order_hash
    assert order["signer"] == wallet  # type 3: the deposit wallet signs, through our session signer
    assert copy.signed_order is not None
    assert json.loads(copy.signed_order["body"])["order"]["signatureType"] == 3
    assert venue.balances(wallet)["shares"]

    haystack = database_text()
    assert len(models_scanned()) > 10
    assert OWNER_KEY[2:].lower() not in haystack
    assert OWNER.lower() in haystack  # the owner address is there, as it should be: it is public
