"""Issue #18, finding 3: the login lockout behind the TLS proxy the README recommends.

django-axes keyed on ``REMOTE_ADDR`` only and locked the pair (username, address): behind a
proxy every visitor has the proxy's address, so one attacker's failures locked a username for
everybody, and spraying one password over many usernames was never limited. Now the client
address is the one the outermost trusted proxy saw (``X-Forwarded-For`` counted from the right,
``TRUSTED_PROXY_COUNT``), and a username and an address are each locked on their own. These
tests speak HTTP to the live server, with the headers the proxy adds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import RequestFactory
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from polyhunter.client_address import client_address
from tests.factories import make_user
from tests.pages.http import Visitor

LIMIT = 5
PASSWORD = "a-long-pass-phrase-9"


@pytest.fixture
def behind_proxy(settings: Settings, transactional_db: None) -> None:
    from axes.utils import reset

    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.BEHIND_TLS_PROXY = True
    settings.TRUSTED_PROXY_COUNT = 1
    reset()


@pytest.fixture
def visitors(live_server: LiveServer, behind_proxy: None) -> Iterator[list[Visitor]]:
    opened: list[Visitor] = []
    yield opened
    for visitor in opened:
        visitor.close()


def visit(live_server: LiveServer, opened: list[Visitor], address: str, *, claims: str = "") -> Visitor:
    visitor = Visitor(live_server.url, address, claims=claims)
    opened.append(visitor)
    return visitor


def log_in(visitor: Visitor, username: str, password: str) -> int:
    return visitor.submit("/login/", {"username": username, "password": password}).status_code


def test_finding_3_spraying_usernames_locks_the_attackers_address_and_nobody_else(
    live_server: LiveServer, visitors: list[Visitor]
) -> None:
    """Failed before the fix: (username, proxy address) pairs never repeat when spraying, so the
    attacker was never stopped; and keyed on the proxy's address, stopping it would stop all."""
    make_user("dave", password=PASSWORD)
    make_user("mallory", password=PASSWORD)
    attacker = visit(live_server, visitors, "203.0.113.66")
    for n in range(LIMIT - 1):
        assert log_in(attacker, f"victim{n}", "Summer2026!") == 200
    assert log_in(attacker, "victim-last", "Summer2026!") == 429  # the failure that reaches the limit
    assert log_in(attacker, "mallory", PASSWORD) == 429  # the address is locked, even with a right password
    dave = visit(live_server, visitors, "198.51.100.7")
    assert log_in(dave, "dave", PASSWORD) == 302  # same proxy, another client: not locked


def test_finding_3_guessing_one_username_from_many_addresses_locks_that_username(
    live_server: LiveServer, visitors: list[Visitor]
) -> None:
    make_user("erin", password=PASSWORD)
    for n in range(LIMIT - 1):
        assert log_in(visit(live_server, visitors, f"192.0.2.{10 + n}"), "erin", "wrong-guess") == 200
    assert log_in(visit(live_server, visitors, "192.0.2.99"), "erin", "wrong-guess") == 429
    assert log_in(visit(live_server, visitors, "198.51.100.99"), "erin", PASSWORD) == 429


def test_finding_3_a_forged_forwarded_for_does_not_move_the_attacker(
    live_server: LiveServer, visitors: list[Visitor]
) -> None:
    """The browser's own X-Forwarded-For is kept by the proxy, which appends the real address:
    only the entry the trusted proxy added counts. Failed before the fix (never locked)."""
    make_user("mallory", password=PASSWORD)
    for n in range(LIMIT - 1):
        forger = visit(live_server, visitors, "203.0.113.66", claims=f"10.9.8.{n}")
        assert log_in(forger, f"victim{n}", "Summer2026!") == 200
    assert log_in(visit(live_server, visitors, "203.0.113.66", claims="10.9.8.99"), "victim", "Summer2026!") == 429
    assert log_in(visit(live_server, visitors, "203.0.113.66", claims="10.9.8.200"), "mallory", PASSWORD) == 429


@pytest.mark.parametrize(
    ("behind", "count", "forwarded", "remote", "expected"),
    [
        (False, 1, "203.0.113.66", "10.0.0.2", "10.0.0.2"),  # no proxy configured: the header is a lie
        (True, 1, "203.0.113.66", "10.0.0.2", "203.0.113.66"),
        (True, 1, "6.6.6.6, 203.0.113.66", "10.0.0.2", "203.0.113.66"),  # a forged entry on the left
        (True, 2, "6.6.6.6, 203.0.113.66, 10.0.0.1", "10.0.0.2", "203.0.113.66"),  # two proxies
        (True, 2, "203.0.113.66", "10.0.0.2", "10.0.0.2"),  # did not come through both proxies
        (True, 1, "not-an-address", "10.0.0.2", "10.0.0.2"),
        (True, 1, "", "10.0.0.2", "10.0.0.2"),
        (True, 1, " 2001:db8::7 ", "10.0.0.2", "2001:db8::7"),
    ],
)
def test_the_client_address_is_what_the_outermost_trusted_proxy_saw(
    settings: Settings, behind: bool, count: int, forwarded: str, remote: str, expected: str
) -> None:
    settings.BEHIND_TLS_PROXY = behind
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(("forwarded", "allowed"), [("203.0.113.66", False), ("10.1.1.1", True)])
def test_the_metrics_allow_list_reads_the_client_address_not_the_proxys(
    settings: Settings, forwarded: str, allowed: bool
) -> None:
    """Behind the proxy, REMOTE_ADDR is the proxy's: allowing its network must not open /metrics
    to everyone the proxy forwards."""
    from polyhunter.metrics import metrics_view

    settings.BEHIND_TLS_PROXY = True
    settings.TRUSTED_PROXY_COUNT = 1
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    request = RequestFactory().get("/metrics", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert (metrics_view(request).status_code == 200) is allowed
