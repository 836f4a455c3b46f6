from __future__ import annotations

from django.db import models


class ChainCursor(models.Model):
    """Where the chain detector is on one chain: the next block to scan and reorg checkpoints.

    ``checkpoints`` holds ``[block_number, block_hash]`` of the last scanned range ends; when the
    newest no longer matches the chain, the detector rescans from the newest one that does and
    retracts what disappeared.
    """

    chain = models.SlugField(max_length=40, unique=True)
    next_block = models.BigIntegerField(null=True, blank=True, help_text="First block not scanned yet.")
    checkpoints = models.JSONField(default=list, blank=True, help_text="[block, hash] of recent range ends.")
    head_block = models.BigIntegerField(null=True, blank=True, help_text="Chain head seen by the last scan.")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A scan holds the cursor until then.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["chain"]

    def __str__(self) -> str:
        return f"{self.chain} @ {self.next_block}"


class DetectorState(models.Model):
    """Heartbeat of one detector, for staff: when it last ran, where it is, what last failed."""

    name = models.CharField(max_length=80, unique=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_cursor = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
