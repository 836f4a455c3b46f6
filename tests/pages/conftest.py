"""Personas for the follower pages: the owner of the rows, another signed-in user, and a stranger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from playwright.sync_api import Browser, sync_playwright
from pytest_django.fixtures import Settings

from accounts.models import TradingAccount, User
from copytrading.models import CopyRelationship, CopyTrade
from execution.simulator.server import VenueSimulator
from execution.venue.gateway import default_gateway
from tests.factories import make_account, make_copy_trade, make_relationship, make_user
from tests.pages.browser_support import CHROMIUM, CHROMIUM_ARGS


@dataclass
class Owned:
    user: User
    account: TradingAccount
    follow: CopyRelationship
    copy: CopyTrade


@pytest.fixture
def owned(db: None) -> Owned:
    user = make_user("olivia")
    account = make_account(user, label="Main")
    follow = make_relationship(account, daily_cap_usdc=50)
    copy = make_copy_trade(follow, status=CopyTrade.Status.SKIPPED, reason_code="slippage", reason_detail="4.1 % > 3 %")
    return Owned(user, account, follow, copy)


@pytest.fixture
def owner_client(owned: Owned) -> Client:
    client = Client()
    client.force_login(owned.user)
    return client


@pytest.fixture
def other_user(db: None) -> User:
    return make_user("mallory")


@pytest.fixture
def other_client(other_user: User) -> Client:
    make_account(other_user, label="Main")
    client = Client()
    client.force_login(other_user)
    return client


@pytest.fixture
def stranger_client() -> Client:
    return Client()


# Public development material (Hardhat/Anvil account #0, never funded) and made-up credentials:
# the secret scan looks for exactly these strings in every page.
FAKE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
FAKE_SIGNER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
FAKE_PROXY = "0x365f0ca36ae1f641e02fe3b7743673da42a13a70"  # its Polymarket proxy (wallet_derivation_vectors)
FAKE_API_KEY = "5e0d6c4b-9a83-4f7e-b1c2-7d8e9fa0b1c3"
FAKE_API_SECRET = "c2VjcmV0LXNob3VsZC1uZXZlci1sZWF2ZS10aGUtdmF1bHQ="
FAKE_PASSPHRASE = "correct-horse-battery-staple-7"


def speed_form(**changes: str) -> dict[str, str]:
    data = {
        "private_key": FAKE_KEY,
        "funder_address": "",
        "signature_type": "0",
        "api_key": FAKE_API_KEY,
        "api_secret": FAKE_API_SECRET,
        "api_passphrase": FAKE_PASSPHRASE,
    }
    data.update(changes)
    return data


@pytest.fixture
def simulator(settings: Settings) -> Iterator[VenueSimulator]:
    """The local simulated venue over HTTP on 127.0.0.1, with the gateway pointed at it.

    The process-wide gateway is built once from settings (lru_cache): rebuild it around the test.
    """
    with VenueSimulator() as sim:
        settings.POLYMARKET_CLOB_URL = sim.url
        settings.POLYMARKET_DATA_URL = sim.url
        default_gateway.cache_clear()
        yield sim
    default_gateway.cache_clear()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop registered on this thread; the test's own ORM
    # calls (database set-up, rows, replayed trades) are plain synchronous code all the same.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
