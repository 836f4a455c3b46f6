"""Staff personas: a superuser, a staff member who may only view, and a follower (not staff)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import User
from tests.pages.conftest import owned, owner_client, simulator  # noqa: F401  (fixtures shared with the page tests)


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
