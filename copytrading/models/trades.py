from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import models

from accounts.models import TradingAccount
from copytrading.models.deployments import Deployment
from copytrading.models.leaders import LeaderTrade
from copytrading.models.relationships import CopyRelationship
from polyhunter.fields import MoneyField, PriceField

# CopyTrade.TERMINAL as plain values, for the partial indexes and constraints below (a migration
# compares them as written).
FINAL_STATUSES = ["confirmed", "failed", "rejected", "canceled", "expired", "skipped", "blocked", "settled", "debt"]


class CopyTrade(models.Model):
    """One copy-order intent for one follow and one leader trade, and its whole life.

    Unique per (relationship, leader_trade): a leader trade is copied at most once per follow.
    ``order_hash`` is unique and written together with the signed payload *before* the order is
    sent, so a retry can only ever resend the same bytes (invariant I1). Every write made by a
    worker is conditioned on ``lease_version`` (fencing), see copytrading.pipeline.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CLAIMED = "claimed", "Claimed by a worker"
        SIGNED = "signed", "Signed, not yet known to the venue"
        UNKNOWN = "unknown", "Outcome unknown"
        DELAYED = "delayed", "Delayed by the venue"
        LIVE = "live", "Resting on the book"
        FILLED = "filled", "Filled, settling"
        CONFIRMED = "confirmed", "Confirmed on chain"
        FAILED = "failed", "Settlement failed"
        REJECTED = "rejected", "Rejected by the venue"
        CANCELED = "canceled", "Canceled by the venue"
        EXPIRED = "expired", "Expired, never placed"
        SKIPPED = "skipped", "Skipped"
        BLOCKED = "blocked", "Blocked by a guardrail"
        # Fleet mode (execution.fleet): the operator wallet's fill is confirmed on chain; the shares
        # go to the follower's wallet and the float comes back from it.
        SETTLEMENT_PENDING = "settlement_pending", "Filled, settling to your wallet"
        SETTLED = "settled", "Settled to your wallet"
        # Final: the shares are the follower's; what is owed lives on in its DebtRecord (open → collected).
        DEBT = "debt", "Settled; its cost was owed (see your debts)"

    class Lane(models.TextChoices):
        EXIT = "exit", "Exit"
        COPY = "copy", "Copy"

    class Side(models.TextChoices):
        BUY = "BUY", "Buy"
        SELL = "SELL", "Sell"

    class Trigger(models.TextChoices):
        LEADER = "leader", "Leader trade"
        STOP_LOSS = "stop_loss", "Stop-loss"
        TAKE_PROFIT = "take_profit", "Take-profit"

    TERMINAL = frozenset(
        {
            Status.CONFIRMED,
            Status.FAILED,
            Status.REJECTED,
            Status.CANCELED,
            Status.EXPIRED,
            Status.SKIPPED,
            Status.BLOCKED,
            Status.SETTLED,
            Status.DEBT,
        }
    )
    # Signed but not yet resolved: the reconciler asks the venue about these by order hash.
    AWAITING_VENUE = frozenset({Status.SIGNED, Status.UNKNOWN, Status.DELAYED, Status.LIVE})
    # Rows whose notional may be (or may become) spent: caps count all of them, unknowns included.
    EXPOSED = frozenset(
        {
            Status.SIGNED,
            Status.UNKNOWN,
            Status.DELAYED,
            Status.LIVE,
            Status.FILLED,
            Status.CONFIRMED,
            Status.SETTLEMENT_PENDING,
            Status.SETTLED,
            Status.DEBT,
        }
    )

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.CLAIMED, Status.SKIPPED, Status.BLOCKED, Status.EXPIRED}),
        Status.CLAIMED: frozenset(
            {
                Status.PENDING,
                Status.CLAIMED,
                Status.SIGNED,
                Status.SKIPPED,
                Status.BLOCKED,
                Status.EXPIRED,
                Status.FILLED,
            }
        ),
        Status.SIGNED: frozenset(
            {
                Status.SIGNED,
                Status.UNKNOWN,
                Status.DELAYED,
                Status.LIVE,
                Status.FILLED,
                Status.REJECTED,
                Status.CANCELED,
                Status.EXPIRED,
            }
        ),
        Status.UNKNOWN: frozenset(
            {
                Status.UNKNOWN,
                Status.DELAYED,
                Status.LIVE,
                Status.FILLED,
                Status.REJECTED,
                Status.CANCELED,
                Status.EXPIRED,
            }
        ),
        Status.DELAYED: frozenset(
            {Status.DELAYED, Status.LIVE, Status.FILLED, Status.REJECTED, Status.CANCELED, Status.EXPIRED}
        ),
        Status.LIVE: frozenset({Status.LIVE, Status.FILLED, Status.CANCELED, Status.EXPIRED}),
        Status.FILLED: frozenset({Status.FILLED, Status.CONFIRMED, Status.FAILED, Status.SETTLEMENT_PENDING}),
        Status.SETTLEMENT_PENDING: frozenset({Status.SETTLEMENT_PENDING, Status.SETTLED, Status.DEBT}),
    }

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(CopyRelationship, on_delete=models.PROTECT, related_name="copy_trades")
    leader_trade = models.ForeignKey(
        LeaderTrade,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="copy_trades",
        help_text="The leader trade copied; empty for a protective exit (stop-loss / take-profit).",
    )
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.LEADER)
    signal_price = PriceField(
        null=True, blank=True, help_text="Protective exits: the mark price that triggered it (their reference)."
    )
    signal_at = models.DateTimeField(null=True, blank=True, help_text="Protective exits: when it was triggered.")
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="copy_trades")
    deployment = models.ForeignKey(
        Deployment, on_delete=models.PROTECT, related_name="copy_trades", help_text="Deployment that created it."
    )
    lane = models.CharField(max_length=4, choices=Lane.choices, default=Lane.COPY)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    reason_code = models.CharField(max_length=48, blank=True, db_index=True)
    reason_detail = models.CharField(max_length=300, blank=True)

    side = models.CharField(max_length=4, choices=Side.choices)
    token_id = models.CharField(max_length=80)
    order_type = models.CharField(max_length=3, default="FAK")
    planned_price = PriceField(null=True, blank=True, help_text="Worst price signed (limit of the protected order).")
    planned_size = MoneyField(null=True, blank=True, help_text="Shares (SELL) or shares at the limit (BUY).")
    planned_usdc = MoneyField(null=True, blank=True, help_text="Notional committed: pUSD to spend (BUY) or receive.")
    quote_price = PriceField(null=True, blank=True, help_text="Best opposite price when the order was decided.")
    planned_fee_usdc = MoneyField(
        default=0,
        help_text="BUY: the most taker fee it can pay (the market's fee curve at its worst fill price), "
        "counted in the caps until the fill is confirmed and its real fee known.",
    )

    signed_order = models.JSONField(null=True, blank=True, editable=False)
    order_hash = models.CharField(max_length=66, unique=True, null=True, blank=True)
    venue_status = models.CharField(max_length=40, blank=True)
    size_matched = MoneyField(default=0)
    fill_price = PriceField(null=True, blank=True)
    fill_usdc = MoneyField(default=0)
    fee_usdc = MoneyField(default=0)
    trade_ids = models.JSONField(default=list, blank=True)

    operator_wallet = models.ForeignKey(
        "execution.OperatorWallet",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Fleet mode: the operator wallet that placed it and settles it.",
    )
    settle_attempts = models.PositiveIntegerField(
        default=0,
        help_text="Fleet mode: settlement runs that had to wait (backoff); its transactions are ChainTransaction "
        "rows with this copy's id.",
    )

    lease_owner = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_version = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0, help_text="Times a worker claimed it.")
    submit_count = models.PositiveIntegerField(default=0, help_text="POSTs of the same signed bytes.")
    not_found_count = models.PositiveIntegerField(default=0, help_text="Reconciler lookups that found nothing.")
    next_check_at = models.DateTimeField(null=True, blank=True)
    outcome_unknown_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When recovery began: the answer was lost or unreadable, the venue refused it for now "
        "(429/425/503, nothing placed), or the reconciler found it signed and never answered.",
    )
    outcome_resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When recovery ended: the venue's truth recorded, or the copy expired."
    )
    deadline_at = models.DateTimeField(help_text="Past this, a non-terminal row is stuck (shown to staff).")

    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["relationship", "leader_trade"], name="one_copy_per_follow_and_trade"),
            # A protective exit is open at most once per follow and token: a second trigger while
            # one is working is a no-op (insert-or-ignore), like a second copy of a leader trade.
            models.UniqueConstraint(
                fields=["relationship", "token_id"],
                condition=~models.Q(trigger="leader") & ~models.Q(status__in=FINAL_STATUSES),
                name="one_open_protective_exit",
            ),
            models.CheckConstraint(
                condition=models.Q(trigger="leader", leader_trade__isnull=False)
                | models.Q(~models.Q(trigger="leader"), leader_trade__isnull=True, signal_price__isnull=False),
                name="copytrade_trigger_has_signal",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["signed", "unknown", "delayed", "live"])
                | models.Q(order_hash__isnull=False),
                name="copytrade_sent_has_hash",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="copytrade_account_idx"),
            models.Index(fields=["deployment", "status"], name="copytrade_deployment_idx"),
            # Used by copytrading.pipeline.sweep_pending (re-enqueue rows whose message was lost)
            # and expire_stale (PENDING older than 10 minutes).
            models.Index(fields=["created_at"], name="copytrade_pending_idx", condition=models.Q(status="pending")),
            # Used by copytrading.pipeline.sweep_pending: CLAIMED rows whose lease ran out.
            models.Index(fields=["lease_until"], name="copytrade_claimed_idx", condition=models.Q(status="claimed")),
            # Used by copytrading.reconcile: signed/unknown/delayed/live rows due for a venue lookup.
            models.Index(
                fields=["next_check_at"],
                name="copytrade_reconcile_idx",
                condition=models.Q(status__in=["signed", "unknown", "delayed", "live"]),
            ),
            # Used by copytrading.reconcile settlement pass: fills followed to CONFIRMED/FAILED.
            models.Index(fields=["next_check_at"], name="copytrade_settle_idx", condition=models.Q(status="filled")),
            # Used by copytrading.fleet (the settle actor and command): fleet fills to settle on chain.
            models.Index(
                fields=["next_check_at"],
                name="copytrade_fleet_settle_idx",
                condition=models.Q(status="settlement_pending"),
            ),
            # Used by the guardrail daily/market caps: an account's exposure today.
            models.Index(
                fields=["account", "created_at"],
                name="copytrade_exposure_idx",
                condition=models.Q(
                    status__in=[
                        "signed",
                        "unknown",
                        "delayed",
                        "live",
                        "filled",
                        "confirmed",
                        "settlement_pending",
                        "settled",
                        "debt",
                    ]
                ),
            ),
            # Used by copytrading.notifications: copies that ended rejected, expired or blocked lately
            # (partial: only those rows, so the pipeline's other writes never touch it).
            models.Index(
                fields=["finished_at"],
                name="copytrade_notify_idx",
                condition=models.Q(status__in=["rejected", "expired", "blocked"]),
            ),
            # Used by the admin "stuck beyond deadline" filter and the I3 monitor.
            models.Index(
                fields=["deadline_at"],
                name="copytrade_open_idx",
                condition=~models.Q(status__in=FINAL_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.side} {self.status}"

    @property
    def reference_price(self) -> Decimal:
        """The price protection is measured against: the leader's fill, or the triggering mark."""
        if self.leader_trade is not None:
            return Decimal(self.leader_trade.price)
        assert self.signal_price is not None
        return Decimal(self.signal_price)

    @property
    def signal_time(self) -> datetime:
        """When the reason to trade happened: the leader's fill, or the stop-loss/take-profit trigger."""
        if self.leader_trade is not None:
            return self.leader_trade.occurred_at
        assert self.signal_at is not None
        return self.signal_at

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @classmethod
    def can_transition(cls, current: str, new: str) -> bool:
        return new in cls.TRANSITIONS.get(current, frozenset())
