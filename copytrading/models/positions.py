from __future__ import annotations

from decimal import Decimal

from django.db import models

from accounts.models import TradingAccount
from copytrading.models.relationships import CopyRelationship
from polyhunter.fields import MoneyField, PriceField


class Position(models.Model):
    """Shares of one token held by an account, attributed to the follow that bought them.

    A copy SELL sells only what was bought for that leader. Changed only by confirmed fills.
    """

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="positions")
    relationship = models.ForeignKey(CopyRelationship, on_delete=models.PROTECT, related_name="positions")
    token_id = models.CharField(max_length=80)
    condition_id = models.CharField(max_length=66, blank=True)
    shares = MoneyField(default=0)
    cost_usdc = MoneyField(default=0, help_text="pUSD paid for the shares still held (average cost).")
    realized_pnl_usdc = MoneyField(default=0)
    mark_price = PriceField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "token_id"]
        constraints = [
            models.UniqueConstraint(fields=["relationship", "token_id"], name="one_position_per_follow_token"),
            models.CheckConstraint(condition=models.Q(shares__gte=0), name="position_shares_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.token_id[:10]}… {self.shares}"

    @property
    def average_price(self) -> Decimal | None:
        return Decimal(self.cost_usdc) / Decimal(self.shares) if self.shares else None

    @property
    def unrealized_pnl_usdc(self) -> Decimal | None:
        if self.mark_price is None:
            return None
        return Decimal(self.shares) * Decimal(self.mark_price) - Decimal(self.cost_usdc)
