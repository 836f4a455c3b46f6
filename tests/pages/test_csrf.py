"""Every form that changes something refuses a POST without the CSRF token."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.pages.conftest import Owned, speed_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def csrf_client(owned: Owned) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owned.user)
    return client


def posts(owned: Owned) -> list[tuple[str, dict[str, str]]]:
    follow, account = {"code": owned.follow.code}, {"code": owned.account.code}
    return [
        (reverse("follow_new"), {"leader_address": "0x" + "ab" * 20}),
        (reverse("follow_edit", kwargs=follow), {"sizing_value": "1"}),
        (reverse("follow_status", kwargs=follow), {"action": "stop"}),
        (reverse("custody"), {"label": "Second"}),
        (reverse("custody_paper", kwargs=account), {}),
        (reverse("custody_speed", kwargs=account), speed_form()),
        (reverse("logout"), {}),
        (reverse("console"), {"form": "switch", "name": "kill_switch", "engaged": "1", "reason": "x"}),
    ]


def test_every_changing_form_refuses_a_post_without_the_token(csrf_client: Client, owned: Owned) -> None:
    for url, data in posts(owned):
        assert csrf_client.post(url, data).status_code == 403, url


@pytest.mark.parametrize("name", ["signup", "login", "password_reset"])
def test_the_public_forms_refuse_a_post_without_the_token(name: str) -> None:
    assert Client(enforce_csrf_checks=True).post(reverse(name), {"username": "x"}).status_code == 403


def test_every_form_on_the_pages_carries_the_token(owner_client: Client, owned: Owned) -> None:
    pages = [
        reverse("follows"),
        reverse("follow_new"),
        reverse("follow_edit", kwargs={"code": owned.follow.code}),
        reverse("custody"),
        reverse("custody_account", kwargs={"code": owned.account.code}),
        reverse("dashboard"),
    ]
    for url in pages:
        text = owner_client.get(url).content.decode()
        assert text.count('method="post"') == text.count('name="csrfmiddlewaretoken"'), url
