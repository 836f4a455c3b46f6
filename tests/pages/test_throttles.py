"""Issue #18, finding 2: sign-up and password reset were open and unthrottled.

Both are now limited per client address (the real one behind our proxy) and per account (the
username asked for; the email a reset is for), on the shared rate limiter. A reset over its
account limit answers exactly like any other (no hint whether the address exists) but mails
nothing. These tests speak HTTP to the live server with the proxy's X-Forwarded-For.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import mail
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from accounts.views import PASSWORD_RESET_THROTTLE, SIGNUP_THROTTLE
from tests.factories import make_user
from tests.pages.http import Visitor

PASSWORD = "a-long-pass-phrase-9"


@pytest.fixture
def visitors(live_server: LiveServer, settings: Settings, transactional_db: None) -> Iterator[list[Visitor]]:
    settings.BEHIND_TLS_PROXY = True
    settings.TRUSTED_PROXY_COUNT = 1
    opened: list[Visitor] = []
    yield opened
    for visitor in opened:
        visitor.close()


def visit(live_server: LiveServer, opened: list[Visitor], address: str) -> Visitor:
    opened.append(Visitor(live_server.url, address))
    return opened[-1]


def sign_up(visitor: Visitor, username: str) -> int:
    data = {"username": username, "email": f"{username}@example.com", "password1": PASSWORD, "password2": PASSWORD}
    return visitor.submit("/signup/", data).status_code


def test_finding_2_sign_ups_are_limited_per_address(live_server: LiveServer, visitors: list[Visitor]) -> None:
    """Failed before the fix: one address could open any number of accounts."""
    for n in range(SIGNUP_THROTTLE.per_address):
        assert sign_up(visit(live_server, visitors, "203.0.113.66"), f"bot{n}") == 302
    refused = visit(live_server, visitors, "203.0.113.66")
    assert sign_up(refused, "bot-extra") == 429
    assert not User.objects.filter(username="bot-extra").exists()
    assert sign_up(visit(live_server, visitors, "198.51.100.7"), "nina") == 302  # another client


def test_finding_2_sign_ups_are_limited_per_account(live_server: LiveServer, visitors: list[Visitor]) -> None:
    """Failed before the fix: one username could be tried from any number of addresses."""
    for n in range(SIGNUP_THROTTLE.per_account):
        assert sign_up(visit(live_server, visitors, f"192.0.2.{n + 1}"), "Target") in (200, 302)
    assert sign_up(visit(live_server, visitors, "192.0.2.200"), "target") == 429


def reset(visitor: Visitor, email: str) -> int:
    return visitor.submit("/password-reset/", {"email": email}).status_code


def test_finding_2_password_resets_are_limited_per_address(live_server: LiveServer, visitors: list[Visitor]) -> None:
    """Failed before the fix: one address could ask for any number of reset mails."""
    for n in range(PASSWORD_RESET_THROTTLE.per_address):
        assert reset(visit(live_server, visitors, "203.0.113.66"), f"someone{n}@example.com") == 302
    assert reset(visit(live_server, visitors, "203.0.113.66"), "omar@example.com") == 429
    assert reset(visit(live_server, visitors, "198.51.100.7"), "omar@example.com") == 302


def test_finding_2_password_reset_mails_are_limited_per_account_without_saying_so(
    live_server: LiveServer, visitors: list[Visitor]
) -> None:
    """Failed before the fix: anybody could send one account any number of mails."""
    make_user("omar", email="omar@example.com", password=PASSWORD)
    for n in range(PASSWORD_RESET_THROTTLE.per_account + 2):
        assert reset(visit(live_server, visitors, f"192.0.2.{n + 1}"), "Omar@example.com") == 302
    assert len(mail.outbox) == PASSWORD_RESET_THROTTLE.per_account
