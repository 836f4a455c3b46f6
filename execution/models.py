from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models

from execution.fleet.models import ChainTransaction, DebtRecord, OperatorWallet  # one app: collected here
from polyhunter.fields import MoneyField
from polyhunter.lib.rows import select_one


class GuardrailSettings(models.Model):
    """Platform-wide limits read by every pre-trade gate. A single row (pk=1).

    Per-follow limits (daily cap, per-market cap, slippage) live on each CopyRelationship;
    these are the ceilings above them that no follow can exceed.
    """

    SINGLETON_ID = 1

    max_order_usdc = MoneyField(default=500, help_text="Largest notional of any one copy order.")
    max_daily_usdc_per_account = MoneyField(
        default=5000, help_text="Ceiling on one account's notional per UTC day, counting unknown outcomes."
    )
    max_market_position_usdc = MoneyField(default=2000, help_text="Ceiling on one account's exposure per market.")
    default_follow_daily_cap_usdc = MoneyField(
        null=True,
        blank=True,
        default=100,
        help_text="Daily cap a new follow starts with (the follower may change it; removing it asks for a "
        "confirmation). Empty = new follows start without one.",
    )
    signer_orders_per_second = models.PositiveIntegerField(
        default=10, help_text="Per-signer order rate shared by all workers."
    )
    breaker_window_seconds = models.PositiveIntegerField(default=60)
    breaker_min_orders = models.PositiveIntegerField(default=20, help_text="Orders in the window before it can trip.")
    breaker_unknown_ratio = models.DecimalField(
        max_digits=4, decimal_places=3, default=0.5, help_text="Share of unknown/5xx outcomes that opens the breaker."
    )
    max_leader_trade_age_seconds = models.PositiveIntegerField(
        default=120, help_text="A leader trade older than this is never copied (stale)."
    )
    max_follows_per_user = models.PositiveIntegerField(
        default=20,
        help_text="Most follows one user may have that are not stopped: each followed leader is polled "
        "on the shared Data API budget (180 requests per 10 s).",
    )
    fleet_debt_threshold_usdc = MoneyField(
        default=0,
        help_text="Fleet mode: a follower whose open debts add up to more than this gets no new fleet copies "
        "until they are paid (0 = any open debt stops them).",
    )
    fleet_min_gas_pol = models.DecimalField(
        max_digits=36,
        decimal_places=18,
        default=Decimal("0.05"),
        help_text="Fleet mode: an operator wallet with less POL than this takes no new copy (it could not "
        "pay for settlement).",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "guardrail settings"
        verbose_name_plural = "guardrail settings"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="guardrails_singleton")]

    def __str__(self) -> str:
        return "Guardrail settings"

    @classmethod
    def current(cls) -> GuardrailSettings:
        # Read for every batch and fan-out: a plain primary-key SELECT building the instance as
        # the ORM does (polyhunter.lib.rows); get_or_create only when the row does not exist yet.
        row = select_one(cls, id=cls.SINGLETON_ID)
        if row is None:
            row, _ = cls.objects.get_or_create(id=cls.SINGLETON_ID)
        return row


class TradingSwitch(models.Model):
    """A platform switch whose stored state is exactly what the execution gate obeys.

    The kill switch is latched: once engaged only a named staff user can release it.
    """

    class Name(models.TextChoices):
        KILL_SWITCH = "kill_switch", "Kill switch (no new orders at all)"
        PAUSE_COPIES = "pause_copies", "Pause all copies (exits still run)"
        EXITS_ONLY = "exits_only", "Exits only (risk-reducing orders)"

    name = models.CharField(max_length=32, choices=Name.choices, unique=True)
    engaged = models.BooleanField(default=False)
    reason = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.get_name_display()}: {'ON' if self.engaged else 'off'}"


class VenueHealth(models.Model):
    """The venue's last version check, as the order gate saw it. A single row (pk=1).

    Written by execution.venue.canary each time the gateway re-reads ``/version`` (a cache miss,
    not every order), so staff can see why trading is refused: which version the venue answered,
    which one this code signs for, and since when orders have been refused.
    """

    SINGLETON_ID = 1

    expected_version = models.PositiveIntegerField(help_text="Order version this code signs for.")
    seen_version = models.IntegerField(null=True, blank=True, help_text="Empty when /version could not be read.")
    refused = models.BooleanField(default=False, help_text="True while the gateway refuses to place orders.")
    detail = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    refused_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "venue health"
        verbose_name_plural = "venue health"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="venue_health_singleton")]

    def __str__(self) -> str:
        state = "REFUSING ORDERS" if self.refused else "ok"
        return f"Venue version {self.seen_version} (expects {self.expected_version}): {state}"

    @classmethod
    def record_check(cls, *, expected: int, seen: int | None, refused: bool, detail: str, at: datetime) -> VenueHealth:
        """Store one canary check: ``refused_since`` keeps the start of a refusal streak."""
        row = cls.objects.filter(id=cls.SINGLETON_ID).first() or cls(id=cls.SINGLETON_ID)
        if refused and not row.refused:
            row.refused_since = at
        if not refused:
            row.refused_since = None
            row.last_ok_at = at
        row.expected_version, row.seen_version, row.refused = expected, seen, refused
        row.detail, row.checked_at = detail[:300], at
        row.save()
        return row


__all__ = ["ChainTransaction", "DebtRecord", "GuardrailSettings", "OperatorWallet", "TradingSwitch", "VenueHealth"]
