"""Send each follower one digest of what is new — by e-mail and/or to their webhook — at most once
per ``DIGEST_EVERY``: the first thing after a quiet spell goes out within a minute, and whatever
follows waits for the next digest (a storm of rejections is one message, not a hundred).

The webhook gets a JSON POST that Discord (``content``) and Slack-style or Telegram bridges
(``text``) read as is. It must be an http(s) URL; hosts on private or loopback networks are
refused unless ``NOTIFY_WEBHOOK_ALLOW_PRIVATE`` (default: embedded mode only) — a follower's URL
must not make the server call inside its own network.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from accounts.models import User
from copytrading.models import Notification, NotificationSettings

log = logging.getLogger(__name__)

DIGEST_EVERY = timedelta(minutes=10)
MAX_LINES = 20
WEBHOOK_TIMEOUT = httpx.Timeout(5.0)
KIND_SETTING = {
    Notification.Kind.COPY_FAILED: "copy_failed",
    Notification.Kind.FOLLOW_HELD: "follow_held",
    Notification.Kind.CUSTODY: "custody",
}


class WebhookRefused(ValueError):
    pass


def notify_settings(user: User) -> NotificationSettings:
    return NotificationSettings.objects.get_or_create(user=user)[0]


def webhook_problem(url: str) -> str | None:
    """Why this URL may not receive webhooks, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "The webhook must be an http:// or https:// URL."
    if getattr(settings, "NOTIFY_WEBHOOK_ALLOW_PRIVATE", settings.EMBEDDED):
        return None
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError:
        return "The webhook's host name does not resolve."
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            return "The webhook must be on the public internet."
    return None


@dataclass(frozen=True)
class Digest:
    subject: str
    text: str
    lines: list[str]


def digest_of(notes: list[Notification]) -> Digest:
    lines = [f"• {note.text}" for note in notes[:MAX_LINES]]
    if len(notes) > MAX_LINES:
        lines.append(f"… and {len(notes) - MAX_LINES} more on your dashboard.")
    subject = notes[0].text if len(notes) == 1 else f"{len(notes)} things need your attention"
    text = "PolyHunter: " + ("\n".join(lines) if len(notes) > 1 else notes[0].text)
    return Digest(subject=f"PolyHunter: {subject}"[:150], text=text, lines=lines)


def notifications_deliver(*, now: datetime | None = None) -> int:
    """Send the digests that are due; returns how many users were sent one."""
    now = now or timezone.now()
    pending: dict[int, list[Notification]] = defaultdict(list)
    for note in Notification.objects.filter(sent_at=None).order_by("created_at", "id")[:5000]:
        pending[note.user_id].append(note)
    sent = 0
    for user_id, notes in pending.items():
        user = User.objects.get(id=user_id)
        prefs = notify_settings(user)
        if prefs.last_sent_at is not None and now - prefs.last_sent_at < DIGEST_EVERY:
            continue
        wanted = [note for note in notes if getattr(prefs, KIND_SETTING[Notification.Kind(note.kind)])]
        if wanted and _send(user, prefs, digest_of(wanted)):
            prefs.last_sent_at = now
            sent += 1
        prefs.save(update_fields=["last_sent_at", "last_error", "updated_at"])
        Notification.objects.filter(id__in=[note.id for note in notes]).update(sent_at=now)
    return sent


def _send(user: User, prefs: NotificationSettings, digest: Digest) -> bool:
    """E-mail and/or webhook; True when at least one channel took it."""
    delivered, errors = False, []
    if prefs.email and user.email:
        try:
            send_mail(digest.subject, digest.text, None, [user.email])
            delivered = True
        except OSError as exc:
            errors.append(f"e-mail: {exc}")
    if prefs.webhook_url:
        try:
            webhook_post(prefs.webhook_url, digest)
            delivered = True
        except (httpx.HTTPError, WebhookRefused) as exc:
            errors.append(f"webhook: {exc}")
    prefs.last_error = "; ".join(errors)[:300]
    if errors:
        log.info("notifications for %s: %s", user.username, prefs.last_error)
    return delivered


def webhook_post(url: str, digest: Digest) -> None:
    problem = webhook_problem(url)
    if problem:
        raise WebhookRefused(problem)
    body = {"content": digest.text[:1900], "text": digest.text, "subject": digest.subject, "lines": digest.lines}
    response = httpx.post(url, json=body, timeout=WEBHOOK_TIMEOUT, follow_redirects=False)
    if response.status_code >= 300:
        raise httpx.HTTPStatusError(f"HTTP {response.status_code}", request=response.request, response=response)


def notifications_send_test(*, user: User) -> str:
    """Send a test message on the user's channels now; returns what happened in plain words."""
    prefs = notify_settings(user)
    digest = Digest(
        subject="PolyHunter: test message",
        text="PolyHunter: this is a test. Your notifications reach you here.",
        lines=["• this is a test"],
    )
    if not (prefs.email and user.email) and not prefs.webhook_url:
        return "Nothing to send to: turn e-mail on (with an address on your account) or add a webhook."
    delivered = _send(user, prefs, digest)
    prefs.save(update_fields=["last_error", "updated_at"])
    return "Sent." if delivered and not prefs.last_error else f"Not everything went through: {prefs.last_error}"
