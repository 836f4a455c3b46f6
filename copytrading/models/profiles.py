from __future__ import annotations

from django.conf import settings
from django.db import models

from copytrading.models.leaders import WatchedWallet


class LeaderProfile(models.Model):
    """A leader as the directory shows it: a track record computed from the Data API
    (``/activity``, ``/positions``, ``/trades``) by a background actor, never in a request.

    ``trades`` keeps the leader's recent trades (newest first, bounded) so "what copying would
    have made" replays them without asking the venue; ``stats`` holds the computed figures as
    decimal strings (copytrading.leaders.stats).
    """

    class State(models.TextChoices):
        LOADING = "loading", "Loading its track record"
        READY = "ready", "Ready"
        FAILED = "failed", "Could not load"

    leader = models.OneToOneField(WatchedWallet, on_delete=models.CASCADE, related_name="profile")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.LOADING)
    stats = models.JSONField(default=dict, blank=True)
    trades = models.JSONField(default=list, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"profile of {self.leader}"
