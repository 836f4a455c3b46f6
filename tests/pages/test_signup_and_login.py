from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import User
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_signing_up_logs_the_user_in_and_leads_to_custody(client: Client) -> None:
    response = client.post(
        reverse("signup"),
        {
            "username": "nina",
            "email": "nina@example.com",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("custody")
    assert client.get(reverse("dashboard")).status_code == 200
    assert User.objects.get(username="nina").email == "nina@example.com"


def test_signing_up_refuses_a_weak_or_mismatched_password(client: Client) -> None:
    response = client.post(
        reverse("signup"), {"username": "nina", "email": "n@example.com", "password1": "123", "password2": "124"}
    )
    assert response.status_code == 200
    assert "password fields didn\u2019t match" in response.content.decode()
    assert not User.objects.filter(username="nina").exists()


def test_logging_in_and_out(client: Client) -> None:
    make_user("omar", password="a-long-pass-phrase-9")
    response = client.post(reverse("login"), {"username": "omar", "password": "a-long-pass-phrase-9"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_wrong_password_is_refused(client: Client) -> None:
    make_user("omar", password="a-long-pass-phrase-9")
    response = client.post(reverse("login"), {"username": "omar", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_password_reset_mails_a_link_that_sets_a_new_password(client: Client) -> None:
    make_user("omar", email="omar@example.com", password="old-pass-phrase-9")
    response = client.post(reverse("password_reset"), {"email": "omar@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    form_page = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "new-pass-phrase-10", "new_password2": "new-pass-phrase-10"},
    )
    assert done["Location"] == reverse("password_reset_complete")
    assert client.login(username="omar", password="new-pass-phrase-10")


def test_password_reset_says_the_same_for_an_unknown_address(client: Client) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_login_is_rate_limited_after_repeated_failures(client: Client) -> None:
    from axes.utils import reset

    reset()
    make_user("omar", password="a-long-pass-phrase-9")
    for _ in range(3):
        client.post(reverse("login"), {"username": "omar", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "omar", "password": "a-long-pass-phrase-9"})
    assert locked.status_code == 429
    assert client.get(reverse("dashboard")).status_code == 302  # the right password did not get in
    reset()
    assert client.post(reverse("login"), {"username": "omar", "password": "a-long-pass-phrase-9"}).status_code == 302
