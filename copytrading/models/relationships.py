from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import TradingAccount
from copytrading.models.deployments import Deployment
from copytrading.models.leaders import WatchedWallet
from polyhunter.fields import MoneyField, PriceField


class CopyRelationship(models.Model):
    """A follower account copying one leader, with its sizing and risk settings.

    Fan-out reads these rows from the database on every leader trade (no in-memory follow
    list), so a pause, stop, edit or re-route is obeyed from the next leader trade on.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"

    class SizingMode(models.TextChoices):
        FIXED_USDC = "fixed_usdc", "Fixed pUSD per trade"
        PROPORTIONAL = "proportional", "Proportional to the leader's pUSD"

    class OrderType(models.TextChoices):
        FAK = "FAK", "Fill and kill (partial fills allowed)"
        FOK = "FOK", "Fill or kill (all or nothing)"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="relationships")
    leader = models.ForeignKey(WatchedWallet, on_delete=models.PROTECT, related_name="followers")
    deployment = models.ForeignKey(
        Deployment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="relationships",
        help_text="Dedicated deployment serving this follow; empty = the shared backend.",
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=200, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    sizing_mode = models.CharField(max_length=16, choices=SizingMode.choices, default=SizingMode.FIXED_USDC)
    sizing_value = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        default=10,
        validators=[MinValueValidator(0)],
        help_text="pUSD per trade (fixed) or the ratio applied to the leader's pUSD (proportional).",
    )
    min_usdc_per_trade = MoneyField(null=True, blank=True)
    max_usdc_per_trade = MoneyField(null=True, blank=True)
    max_position_usdc_per_market = MoneyField(null=True, blank=True)
    daily_cap_usdc = MoneyField(
        null=True, blank=True, help_text="What is paid per UTC day, fees included; unknown outcomes count as spent."
    )
    slippage_bps = models.PositiveIntegerField(default=300, validators=[MaxValueValidator(5000)])
    price_min = PriceField(null=True, blank=True, help_text="Do not copy below this leader price.")
    price_max = PriceField(null=True, blank=True, help_text="Do not copy above this leader price.")
    market_allow = models.JSONField(default=list, blank=True, help_text="Only these condition/token ids (empty = all).")
    market_deny = models.JSONField(default=list, blank=True, help_text="Never these condition/token ids.")
    copy_sells = models.BooleanField(default=True)
    order_type = models.CharField(max_length=3, choices=OrderType.choices, default=OrderType.FAK)
    stop_loss_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    take_profit_pct = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "leader"], name="one_follow_per_account_leader"),
        ]
        indexes = [
            # Used by copytrading fan-out: active follows of one leader.
            models.Index(fields=["leader", "status"], name="follow_leader_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account} → {self.leader}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE
