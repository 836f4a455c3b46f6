from __future__ import annotations

from django.conf import settings
from django.db import models


class NotificationSettings(models.Model):
    """How a follower wants to hear about things that need them (one row per user)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_settings")
    email = models.BooleanField(default=True, help_text="Send a digest to the account's e-mail address.")
    webhook_url = models.URLField(
        max_length=500, blank=True, help_text="POSTed a JSON digest (Discord 'content', Slack/Telegram bridges 'text')."
    )
    copy_failed = models.BooleanField(default=True, help_text="A copy was rejected by the venue or expired.")
    follow_held = models.BooleanField(default=True, help_text="A follow was paused by staff or held by a guardrail.")
    custody = models.BooleanField(default=True, help_text="Custody needs action (balance, approval, API key).")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, help_text="Why the last delivery failed, if it did.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notifications of {self.user}"


class Notification(models.Model):
    """One thing a follower should hear about, sent in the next digest (never one message each).

    ``dedupe_key`` makes collecting idempotent: the same event found twice is one row.
    """

    class Kind(models.TextChoices):
        COPY_FAILED = "copy_failed", "Copy rejected or expired"
        FOLLOW_HELD = "follow_held", "Follow paused or held"
        CUSTODY = "custody", "Custody needs action"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.CharField(max_length=400)
    dedupe_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Used by copytrading.notifications.deliver: what each user has not been sent yet.
            models.Index(
                fields=["user", "created_at"], name="notification_unsent_idx", condition=models.Q(sent_at=None)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}: {self.text[:40]}"
