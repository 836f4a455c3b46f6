from __future__ import annotations

from django.db import models


class MarketLabel(models.Model):
    """What people call a token: its market's question and its outcome, cached from the venue
    (``/markets/{condition_id}``) or from the Data API rows that named it. Pages show these
    instead of 77-digit token ids; ``tick_size`` is what prices are shown to."""

    class Source(models.TextChoices):
        VENUE = "venue", "Venue market info"
        DATA_API = "data_api", "Data API row"

    token_id = models.CharField(max_length=80, unique=True)
    condition_id = models.CharField(max_length=66, blank=True)
    title = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=80, blank=True)
    slug = models.CharField(max_length=200, blank=True)
    tick_size = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    # The taker fee curve (Polymarket's fee schedule), for "what copying would have made"; null = not known.
    fee_rate = models.DecimalField(max_digits=8, decimal_places=6, null=True, blank=True)
    fee_exponent = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["title", "outcome"]

    def __str__(self) -> str:
        return f"{self.title} — {self.outcome}" if self.outcome else self.title or self.token_id
