from __future__ import annotations

import uuid

from django.db import models

from polyhunter.fields import AddressField, MoneyField, PriceField


class WatchedWallet(models.Model):
    """A leader, keyed by its funder/proxy wallet (the ``maker`` of its orders), lower-case.

    Holds the Data API cursor: the newest trade second seen and the transaction hashes already
    taken at that second, so trades sharing a second are neither missed nor decided twice.
    """

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    address = AddressField(unique=True)
    label = models.CharField(max_length=80, blank=True)
    paused = models.BooleanField(default=False, help_text="Staff pause: no follower copies this leader.")
    paused_reason = models.CharField(max_length=200, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    data_api_cursor_ts = models.BigIntegerField(
        null=True, blank=True, help_text="Unix seconds of the newest trade taken."
    )
    data_api_cursor_txs = models.JSONField(default=list, blank=True, help_text="Tx hashes taken at the cursor second.")
    data_api_polled_at = models.DateTimeField(null=True, blank=True)
    poll_lease_until = models.DateTimeField(null=True, blank=True)
    last_trade_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return self.label or self.address


class LeaderTrade(models.Model):
    """One leader fill, aggregated over all legs of one transaction per (leader, token, side).

    ``dedupe_key`` is the same whichever source saw the trade first (chain, Data API, replay),
    so inserting it is insert-or-ignore and fan-out runs only for rows that were new.
    """

    class Source(models.TextChoices):
        ONCHAIN = "onchain", "Polygon logs"
        DATA_API = "data_api", "Data API"
        REPLAY = "replay", "Replay tape"

    class Side(models.TextChoices):
        BUY = "BUY", "Buy"
        SELL = "SELL", "Sell"

    class Status(models.TextChoices):
        NEW = "new", "New (fan-out pending)"
        FANNED_OUT = "fanned_out", "Fanned out"
        STALE = "stale", "Stale (too old to copy)"
        IGNORED = "ignored", "Ignored"
        RETRACTED = "retracted", "Retracted (chain reorg)"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    leader = models.ForeignKey(WatchedWallet, on_delete=models.PROTECT, related_name="trades")
    dedupe_key = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    tx_hash = models.CharField(max_length=66)
    token_id = models.CharField(max_length=80)
    condition_id = models.CharField(max_length=66, blank=True)
    side = models.CharField(max_length=4, choices=Side.choices)
    price = PriceField()
    shares = MoneyField()
    usdc = MoneyField()
    legs = models.PositiveIntegerField(default=1)
    block_number = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(help_text="When the leader's fill happened (block or trade time).")
    detected_at = models.DateTimeField(help_text="When PolyHunter first saw it.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    reason = models.CharField(max_length=200, blank=True)
    flagged = models.BooleanField(default=False, help_text="Retracted by a reorg after it was copied.")
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [
            models.Index(fields=["leader", "-occurred_at"], name="leadertrade_leader_idx"),
            models.Index(fields=["tx_hash"], name="leadertrade_tx_idx"),
            # Used by copytrading.pipeline fan-out sweeper: new trades whose fan-out message was lost.
            models.Index(fields=["detected_at"], name="leadertrade_new_idx", condition=models.Q(status="new")),
        ]

    def __str__(self) -> str:
        return f"{self.leader} {self.side} {self.shares} @ {self.price}"

    @property
    def detection_lag_seconds(self) -> float:
        return (self.detected_at - self.occurred_at).total_seconds()
