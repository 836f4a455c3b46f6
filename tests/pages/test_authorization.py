"""Every follower view with three personas: the owner, another signed-in user, a stranger.

Objects are addressed by UUID code and looked up together with their owner, so another user's
code answers 404 (never 403, which would confirm it exists), and lists show only one's own rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from accounts import urls as account_urls
from copytrading import urls as copytrading_urls
from copytrading.models import CopyRelationship
from tests.pages.conftest import Owned

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class OwnedView:
    name: str
    method: str
    kwargs: Callable[[Owned], dict[str, Any]]
    data: dict[str, str]
    owner_status: int


def follow(o: Owned) -> dict[str, Any]:
    return {"code": o.follow.code}


def account(o: Owned) -> dict[str, Any]:
    return {"code": o.account.code}


OWNED_VIEWS = [
    OwnedView("follow_edit", "get", follow, {}, 200),
    OwnedView("follow_status", "post", follow, {"action": "pause"}, 302),
    OwnedView("custody_account", "get", account, {}, 200),
    OwnedView("custody_paper", "post", account, {}, 302),
    OwnedView("custody_speed", "post", account, {"private_key": "zz"}, 200),  # form error, re-rendered
    OwnedView("custody_session", "post", account, {"owner_address": "0x12"}, 200),  # form error, re-rendered
    OwnedView("custody_fleet", "post", account, {"wallet_address": "0x12"}, 200),  # form error, re-rendered
    OwnedView("custody_session_verify", "post", account, {}, 302),  # not a session account: a message
    OwnedView("custody_session_wallet", "post", account, {"wallet": "0x12"}, 302),
    OwnedView("custody_session_rotate", "post", account, {}, 302),
]
# Lists of one's own rows: another user gets the page, but none of the owner's rows.
LIST_VIEWS = ["dashboard", "dashboard_copies", "follows", "follow_new", "custody", "history", "history_csv"]
PUBLIC_VIEWS = ["signup", "login", "logout", "password_reset", "password_reset_done", "password_reset_complete"]
# The same for every signed-in user (the leader directory), or about the user only (alerts): a
# stranger is sent to log in.
SIGNED_IN_VIEWS: dict[str, tuple[str, Callable[[Owned], dict[str, Any]], dict[str, str]]] = {
    "leaders": ("get", lambda o: {}, {}),
    "leader_detail": ("get", lambda o: {"code": o.follow.leader.code}, {}),
    "leader_propose": ("post", lambda o: {}, {"address": "0x" + "cd" * 20}),
    "notifications": ("get", lambda o: {}, {}),
    "notifications_test": ("post", lambda o: {}, {}),
}
TOKEN_VIEWS = ["password_reset_confirm"]


def test_the_matrix_covers_every_follower_view() -> None:
    patterns = [*account_urls.urlpatterns, *copytrading_urls.urlpatterns]
    names = {p.name for p in patterns if isinstance(p, URLPattern)}
    covered = {v.name for v in OWNED_VIEWS} | set(LIST_VIEWS) | set(PUBLIC_VIEWS) | set(TOKEN_VIEWS)
    covered |= set(SIGNED_IN_VIEWS)
    assert names == covered


@pytest.mark.parametrize("view", OWNED_VIEWS, ids=[v.name for v in OWNED_VIEWS])
def test_the_owner_can_use_their_own_object(owner_client: Client, owned: Owned, view: OwnedView) -> None:
    response = getattr(owner_client, view.method)(reverse(view.name, kwargs=view.kwargs(owned)), view.data)
    assert response.status_code == view.owner_status


@pytest.mark.parametrize("view", OWNED_VIEWS, ids=[v.name for v in OWNED_VIEWS])
def test_another_user_gets_a_404_for_the_owners_object(other_client: Client, owned: Owned, view: OwnedView) -> None:
    response = getattr(other_client, view.method)(reverse(view.name, kwargs=view.kwargs(owned)), view.data)
    assert response.status_code == 404
    owned.follow.refresh_from_db()
    owned.account.refresh_from_db()
    assert owned.follow.status == CopyRelationship.Status.ACTIVE


@pytest.mark.parametrize("view", OWNED_VIEWS, ids=[v.name for v in OWNED_VIEWS])
def test_a_stranger_is_sent_to_log_in_for_an_object(stranger_client: Client, owned: Owned, view: OwnedView) -> None:
    url = reverse(view.name, kwargs=view.kwargs(owned))
    response = getattr(stranger_client, view.method)(url, view.data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    owned.follow.refresh_from_db()
    assert owned.follow.status == CopyRelationship.Status.ACTIVE


def _text(response: Any) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode()
    return str(response.content.decode())


@pytest.mark.parametrize("name", LIST_VIEWS)
def test_the_owner_sees_their_own_rows(owner_client: Client, owned: Owned, name: str) -> None:
    response = owner_client.get(reverse(name))
    assert response.status_code == 200
    marker = owned.account.label if name in ("follow_new", "custody") else owned.follow.leader.address
    assert marker in _text(response)


@pytest.mark.parametrize("name", LIST_VIEWS)
def test_another_user_sees_none_of_the_owners_rows(other_client: Client, owned: Owned, name: str) -> None:
    response = other_client.get(reverse(name))
    assert response.status_code == 200
    text = _text(response)
    assert owned.follow.leader.address not in text
    assert str(owned.follow.code) not in text
    assert str(owned.account.code) not in text


@pytest.mark.parametrize("name", LIST_VIEWS)
def test_a_stranger_is_sent_to_log_in_for_a_list(stranger_client: Client, owned: Owned, name: str) -> None:
    response = stranger_client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_another_user_cannot_choose_the_owners_account_when_following(other_client: Client, owned: Owned) -> None:
    response = other_client.post(
        reverse("follow_new"),
        {"leader_address": "0x" + "ab" * 20, "account": str(owned.account.code), "sizing_mode": "fixed_usdc"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not CopyRelationship.objects.filter(account=owned.account).exclude(pk=owned.follow.pk).exists()


def test_another_user_cannot_filter_history_by_the_owners_follow(other_client: Client, owned: Owned) -> None:
    response = other_client.get(reverse("history"), {"follow": str(owned.follow.code)})
    assert response.status_code == 200
    assert owned.follow.leader.address not in response.content.decode()


@pytest.mark.parametrize("name", PUBLIC_VIEWS)
def test_a_stranger_can_open_the_public_pages(stranger_client: Client, name: str) -> None:
    response = stranger_client.post(reverse(name)) if name == "logout" else stranger_client.get(reverse(name))
    assert response.status_code == (302 if name == "logout" else 200)


@pytest.mark.parametrize("name", ["signup", "login"])
def test_a_signed_in_user_is_sent_to_the_dashboard(owner_client: Client, name: str) -> None:
    response = owner_client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


@pytest.mark.parametrize("client_name", ["owner_client", "other_client", "stranger_client"])
def test_a_forged_password_reset_link_is_refused_for_everyone(request: pytest.FixtureRequest, client_name: str) -> None:
    client: Client = request.getfixturevalue(client_name)
    response = client.get(reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "set-password"}))
    assert response.status_code == 200
    assert "no longer works" in response.content.decode()


@pytest.mark.parametrize("name", SIGNED_IN_VIEWS)
def test_a_stranger_is_sent_to_log_in_for_the_directory_and_alerts(
    stranger_client: Client, owned: Owned, name: str
) -> None:
    method, kwargs, data = SIGNED_IN_VIEWS[name]
    response = getattr(stranger_client, method)(reverse(name, kwargs=kwargs(owned)), data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", SIGNED_IN_VIEWS)
def test_any_signed_in_user_may_use_the_directory_and_their_own_alerts(
    other_client: Client, owned: Owned, name: str
) -> None:
    method, kwargs, data = SIGNED_IN_VIEWS[name]
    response = getattr(other_client, method)(reverse(name, kwargs=kwargs(owned)), data)
    assert response.status_code in (200, 302)
    assert not response.get("Location", "").startswith(reverse("login"))


def test_another_user_sees_none_of_the_owners_alerts(other_client: Client, owned: Owned) -> None:
    from django.utils import timezone

    from copytrading.models import Notification

    Notification.objects.create(
        user=owned.user, kind="copy_failed", text="olivia's secret alert", dedupe_key="x", created_at=timezone.now()
    )
    assert "olivia&#x27;s secret alert" not in other_client.get(reverse("notifications")).content.decode()
