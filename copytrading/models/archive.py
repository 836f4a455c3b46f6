"""Archive tables: finished copy trades and leader trades past retention (copytrading.archive).

Each archived row keeps every column of the original in ``row`` (JSON, as exported) and, as
typed columns, what the follower's pages and the P&L read: a page of history or a P&L curve
never needs the original tables once a row is archived. ``original_id`` is unique, so a row is
archived once however often an interrupted run is repeated.
"""

from __future__ import annotations

from django.db import models

from accounts.models import TradingAccount
from copytrading.models.leaders import WatchedWallet
from copytrading.models.relationships import CopyRelationship
from polyhunter.fields import MoneyField, PriceField


class ArchivedCopyTrade(models.Model):
    original_id = models.BigIntegerField(unique=True)
    code = models.UUIDField(unique=True, editable=False)
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="archived_copy_trades")
    relationship = models.ForeignKey(CopyRelationship, on_delete=models.PROTECT, related_name="archived_copy_trades")
    leader_address = models.CharField(max_length=42, blank=True)
    leader_trade_code = models.UUIDField(null=True, blank=True)
    trigger = models.CharField(max_length=12)
    side = models.CharField(max_length=4)
    token_id = models.CharField(max_length=80)
    status = models.CharField(max_length=10)
    reason_code = models.CharField(max_length=48, blank=True)
    reason_detail = models.CharField(max_length=300, blank=True)
    reference_price = PriceField(null=True, blank=True, help_text="The leader's price, or the triggering mark.")
    planned_price = PriceField(null=True, blank=True)
    planned_usdc = MoneyField(null=True, blank=True)
    fill_price = PriceField(null=True, blank=True)
    size_matched = MoneyField(default=0)
    fill_usdc = MoneyField(default=0)
    fee_usdc = MoneyField(default=0)
    order_hash = models.CharField(max_length=66, null=True, blank=True)  # noqa: DJ001  (as CopyTrade's: None = never signed)
    created_at = models.DateTimeField()
    filled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(auto_now_add=True)
    row = models.JSONField(help_text="Every column of the original row.")

    class Meta:
        ordering = ["-created_at", "-original_id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="archived_copy_account_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.side} {self.status} (archived)"


class ArchivedLeaderTrade(models.Model):
    original_id = models.BigIntegerField(unique=True)
    code = models.UUIDField(unique=True, editable=False)
    leader = models.ForeignKey(WatchedWallet, on_delete=models.PROTECT, related_name="archived_trades")
    dedupe_key = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=16)
    tx_hash = models.CharField(max_length=66)
    token_id = models.CharField(max_length=80)
    side = models.CharField(max_length=4)
    price = PriceField()
    shares = MoneyField()
    usdc = MoneyField()
    status = models.CharField(max_length=16)
    occurred_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    archived_at = models.DateTimeField(auto_now_add=True)
    row = models.JSONField(help_text="Every column of the original row.")

    class Meta:
        ordering = ["-detected_at", "-original_id"]

    def __str__(self) -> str:
        return f"{self.leader_id} {self.side} {self.shares} @ {self.price} (archived)"
