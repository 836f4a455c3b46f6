"""Tracked chain transactions of the operator wallets (issue #12, stuck-transaction monitor).

Collected by execution/models.py (one Django app). Wallets and copies are plain values, not
foreign keys: a row outlives what sent it, and the chain side does not depend on the fleet tables.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ChainTransaction(models.Model):
    """One signed transaction of an operator wallet, persisted before it is broadcast.

    Several rows share a nonce only when one replaced another (higher fees, same call); at most
    one row per (wallet, nonce) is not REPLACED, and the chain mines at most one of them.
    """

    class Purpose(models.TextChoices):
        PUSH = "push", "Shares pushed to the follower"
        REIMBURSE = "reimburse", "Float reimbursed by the follower"
        PULL = "pull", "Shares pulled from the follower"
        PROCEEDS = "proceeds", "Sale proceeds paid to the follower"
        GAP_FILL = "gap_fill", "Nonce gap filled (empty self-transfer)"
        SWEEP = "sweep", "Float moved between wallets"

    class State(models.TextChoices):
        SENT = "sent", "Sent, not mined yet"
        MINED = "mined", "Mined"
        REVERTED = "reverted", "Mined, reverted"
        REPLACED = "replaced", "Replaced (same nonce, higher fees)"
        DROPPED = "dropped", "Dropped (nonce used by another transaction)"

    wallet = models.CharField(max_length=42, help_text="Sending operator wallet (checksummed).")
    nonce = models.PositiveBigIntegerField()
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    copy_id = models.BigIntegerField(null=True, blank=True, help_text="The copy trade settled, if any (no FK).")
    to_address = models.CharField(max_length=42)
    call_data = models.BinaryField()
    value_wei = models.DecimalField(max_digits=78, decimal_places=0, default=0)
    gas = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66, unique=True)
    # The exact bytes broadcast (public once sent; no secret): re-broadcast as they are when a
    # node loses them, never re-signed for the same nonce except as a fee-bumped replacement.
    raw_tx = models.BinaryField()
    max_fee_per_gas = models.PositiveBigIntegerField()
    max_priority_fee_per_gas = models.PositiveBigIntegerField()
    sent_at = models.DateTimeField()
    sent_block = models.PositiveBigIntegerField(help_text="Chain head when persisted: stuck counts blocks from it.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.SENT)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=1, help_text="Times these bytes were broadcast.")
    last_error = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One live (or final) transaction per nonce: what makes two callers never share one.
            models.UniqueConstraint(
                fields=["wallet", "nonce"], condition=~Q(state="replaced"), name="chaintx_one_per_nonce"
            ),
            # One live or mined transaction per copy and purpose: a retried settlement step gets the
            # row it already has (send_tracked), never a second transaction; after a revert or a drop
            # a new one may be sent (a debt retried once the follower restored the allowance).
            models.UniqueConstraint(
                fields=["copy_id", "purpose"],
                condition=Q(state__in=["sent", "mined"]),
                name="chaintx_one_live_per_copy_step",
            ),
        ]
        indexes = [
            # monitor_transactions: the SENT rows, by wallet and nonce.
            models.Index(fields=["wallet", "nonce"], condition=Q(state="sent"), name="chaintx_sent"),
            # /metrics: the last day's transactions by state.
            models.Index(fields=["sent_at"], name="chaintx_sent_at"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.wallet[:10]}… nonce {self.nonce} {self.state}"
