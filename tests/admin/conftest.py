"""Staff personas: a superuser, a staff member who may only view, and a follower (not staff)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import User
from copytrading.models import CopyTrade
from execution.custody import custody_set_speed
from execution.simulator.server import VenueSimulator
from execution.venue.auth import ApiCredentials
from tests.factories import make_copy_trade
from tests.pages.conftest import FAKE_KEY, FAKE_SIGNER, Owned, owned, owner_client, simulator  # noqa: F401  (fixtures shared with the page tests)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw-root")


@pytest.fixture
def staff_client(superuser: User) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def viewer_client(db: None) -> Client:
    """Staff with view permissions only: sees the console and the tables, changes nothing."""
    viewer = User.objects.create_user("vera", password="pw-vera", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def follower_client(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_user("fred", password="pw-fred"))
    return client


@pytest.fixture
def speed_unknown(owned: Owned, simulator: VenueSimulator) -> CopyTrade:  # noqa: F811  (the imported fixtures)
    """A speed account with the venue's own credentials, and an order the venue never received."""
    issued = simulator.credentials(FAKE_SIGNER)
    creds = ApiCredentials(key=issued.key, secret=issued.secret, passphrase=issued.passphrase)
    custody_set_speed(
        account=owned.account,
        private_key=FAKE_KEY,
        funder_address="",
        signature_type=0,
        api_credentials=creds,
        actor="test",
    )
    return make_copy_trade(owned.follow, status=CopyTrade.Status.UNKNOWN, order_hash="0x" + "ee" * 32)
