"""Notifications reach a follower as a digest — Django's mail outbox and a real HTTP webhook
receiver on 127.0.0.1 — for rejected or expired copies, follows held by staff or a guardrail,
and custody needing action; a storm of events is one message."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from copytrading.controls import account_set_paused, leader_set_paused, relationship_set_hold, relationship_set_status
from copytrading.models import CopyRelationship, CopyTrade, Notification, NotificationSettings
from copytrading.notifications.collect import notifications_collect
from copytrading.notifications.deliver import DIGEST_EVERY, notifications_deliver, webhook_problem
from tests.factories import make_account, make_copy_trade, make_relationship, make_user

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook endpoint: a real HTTP server on 127.0.0.1 that keeps what it was sent."""

    def __init__(self, status: int = 204) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    with override_settings(NOTIFY_WEBHOOK_ALLOW_PRIVATE=True):
        yield server
    server.close()


@pytest.fixture
def follow() -> CopyRelationship:
    user = make_user("nora", email="nora@example.com")
    return make_relationship(make_account(user, label="Main"))


def finished(follow: CopyRelationship, status: str, **fields: Any) -> CopyTrade:
    return make_copy_trade(follow, status=status, finished_at=timezone.now(), **fields)


def test_a_rejected_copy_reaches_the_follower_by_email_and_webhook_in_plain_words(
    follow: CopyRelationship, receiver: Receiver
) -> None:
    NotificationSettings.objects.create(user=follow.account.user, webhook_url=receiver.url)
    finished(follow, "rejected", reason_code="venue_rejected", venue_status="not_enough_balance",
             reason_detail="not_enough_balance: not enough balance / allowance")  # fmt: skip
    assert notifications_collect() == 2  # the failed copy, and the custody problem behind it
    assert notifications_deliver() == 1
    (message,) = mail.outbox
    assert message.to == ["nora@example.com"]
    assert "does not have enough pUSD" in message.body
    assert "not_enough_balance" not in message.body  # the venue's raw words stay with staff
    (body,) = receiver.bodies
    assert body["content"] == body["text"] == message.body
    assert "needs attention" in body["text"]


def test_a_storm_of_rejections_is_one_digest_and_the_rest_wait_for_the_next(
    follow: CopyRelationship, receiver: Receiver
) -> None:
    NotificationSettings.objects.create(user=follow.account.user, webhook_url=receiver.url, email=False)
    for _ in range(30):
        finished(follow, "expired", reason_code="expired_pending", reason_detail="not processed within 10 minutes")
    notifications_collect()
    assert notifications_deliver() == 1
    (body,) = receiver.bodies
    assert "30 things need your attention" in body["subject"]
    assert "… and 10 more" in body["text"]
    finished(follow, "expired", reason_code="expired_pending")
    notifications_collect()
    assert notifications_deliver() == 0  # within the digest interval: waits
    assert len(receiver.bodies) == 1
    assert notifications_deliver(now=timezone.now() + DIGEST_EVERY) == 1
    assert len(receiver.bodies) == 2
    assert mail.outbox == []  # e-mail turned off


def test_collecting_twice_adds_nothing(follow: CopyRelationship) -> None:
    finished(follow, "rejected", reason_code="killed", venue_status="killed")
    assert notifications_collect() == 1
    assert notifications_collect() == 0
    assert Notification.objects.count() == 1


def test_staff_pausing_a_follow_a_leader_or_an_account_is_told_but_the_owners_own_pause_is_not(
    follow: CopyRelationship,
) -> None:
    owner, staff = follow.account.user, make_user("staff", is_staff=True)
    relationship_set_status(relationship=follow, status="paused", actor=owner, reason="pause by owner")
    relationship_set_status(relationship=follow, status="active", actor=owner, reason="resume by owner")
    assert notifications_collect() == 0
    leader_set_paused(leader=follow.leader, paused=True, actor=staff, reason="wash trading suspected")
    account_set_paused(account=follow.account, paused=True, actor="system:venue", reason="API key refused")
    relationship_set_hold(relationship=follow, hold="paused", actor=staff, reason="compliance review")
    assert notifications_collect() == 3
    texts = sorted(Notification.objects.values_list("text", flat=True))
    assert any("Staff paused copying of" in t and "wash trading suspected" in t for t in texts)
    assert any("refused the API key of your account Main" in t for t in texts)
    assert any("Staff paused your follow of" in t and "compliance review" in t for t in texts)


def test_copies_held_by_a_guardrail_are_one_notice_per_follow_reason_and_day(follow: CopyRelationship) -> None:
    for _ in range(5):
        finished(follow, "blocked", reason_code="daily_cap", reason_detail="$50 of $50 already committed today")
    finished(follow, "blocked", reason_code="custody_not_ready")
    assert notifications_collect() == 2
    kinds = sorted(Notification.objects.values_list("kind", flat=True))
    assert kinds == ["custody", "follow_held"]
    held = Notification.objects.get(kind="follow_held")
    assert "your daily cap was reached" in held.text


def test_a_kind_turned_off_is_never_sent(follow: CopyRelationship) -> None:
    NotificationSettings.objects.create(user=follow.account.user, copy_failed=False)
    finished(follow, "rejected", reason_code="killed", venue_status="killed")
    notifications_collect()
    assert notifications_deliver() == 0
    assert mail.outbox == []
    assert not Notification.objects.filter(sent_at=None).exists()


def test_old_events_are_not_collected(follow: CopyRelationship) -> None:
    make_copy_trade(follow, status="rejected", finished_at=timezone.now() - timedelta(hours=1))
    assert notifications_collect() == 0


def test_a_failing_webhook_is_shown_on_the_alerts_page_and_email_still_goes(follow: CopyRelationship) -> None:
    failing = Receiver(status=500)
    try:
        with override_settings(NOTIFY_WEBHOOK_ALLOW_PRIVATE=True):
            NotificationSettings.objects.create(user=follow.account.user, webhook_url=failing.url)
            finished(follow, "rejected", reason_code="killed", venue_status="killed")
            notifications_collect()
            assert notifications_deliver() == 1
    finally:
        failing.close()
    assert len(mail.outbox) == 1
    client = Client()
    client.force_login(follow.account.user)
    assert "The last delivery failed: webhook: HTTP 500" in client.get(reverse("notifications")).content.decode()


def test_a_webhook_on_a_private_network_is_refused_outside_embedded_mode() -> None:
    with override_settings(NOTIFY_WEBHOOK_ALLOW_PRIVATE=False):
        assert webhook_problem("http://127.0.0.1:8000/hook") == "The webhook must be on the public internet."
        assert webhook_problem("http://10.0.0.5/hook") == "The webhook must be on the public internet."
        assert webhook_problem("ftp://example.com/hook") == "The webhook must be an http:// or https:// URL."


def test_the_alerts_page_saves_the_settings_and_sends_a_test(receiver: Receiver) -> None:
    user = make_user("olga", email="olga@example.com")
    client = Client()
    client.force_login(user)
    data = {"email": "on", "webhook_url": receiver.url, "copy_failed": "on", "custody": "on"}
    assert client.post(reverse("notifications"), data).status_code == 302
    prefs = NotificationSettings.objects.get(user=user)
    assert (prefs.webhook_url, prefs.follow_held) == (receiver.url, False)
    response = client.post(reverse("notifications_test"), follow=True)
    assert "Sent." in response.content.decode()
    assert receiver.bodies[0]["text"] == "PolyHunter: this is a test. Your notifications reach you here."
    assert mail.outbox[0].subject == "PolyHunter: test message"
