"""Fleet mode's rows: the operator wallets, the follower debts and the tracked chain transactions
(collected by execution/models.py: one Django app).

Copies are referenced by id (``copy_trade_id``), not by a foreign key: execution never depends on
copytrading (docs/architecture.md), and the unique constraint on it is what makes a debt exactly
once. Transactions name wallets and copies as plain values: a row outlives what sent it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import TradingAccount
from polyhunter.fields import AddressField, MoneyField


class OperatorWallet(models.Model):
    """One wallet of the fleet, m/44'/60'/0'/0/``index`` of TRADING_MNEMONIC (its key is never stored).

    A fleet copy checks one out for the whole life of its order and settlement: ``lease_holder``
    and ``lease_until`` are that lease (execution.fleet.checkout), taken with SELECT … FOR UPDATE
    SKIP LOCKED so no two workers use one wallet's nonce at once; a crashed holder's lease expires.
    Balances are the last chain reading (``balances_read_at``), used to skip a wallet that cannot
    pay for an order; the chain stays the truth.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active (takes new copies)"
        DRAINING = "draining", "Draining (finishes what it holds, takes nothing new)"
        DISABLED = "disabled", "Disabled (takes nothing)"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    index = models.PositiveIntegerField(unique=True, help_text="Derivation index i of m/44'/60'/0'/0/i.")
    address = AddressField(unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    state_reason = models.CharField(max_length=300, blank=True)
    in_flight = models.PositiveIntegerField(default=0, help_text="Copies holding it (0 or 1: one lease at a time).")
    float_usdc = MoneyField(null=True, blank=True, help_text="pUSD balance at the last reading.")
    gas_pol = models.DecimalField(
        max_digits=36, decimal_places=18, null=True, blank=True, help_text="POL balance at the last reading."
    )
    balances_read_at = models.DateTimeField(null=True, blank=True)
    last_nonce = models.BigIntegerField(null=True, blank=True, help_text="Last transaction nonce it used.")
    lease_holder = models.CharField(max_length=80, blank=True, help_text="Worker (and copy) holding it.")
    lease_until = models.DateTimeField(null=True, blank=True)
    activity = models.CharField(max_length=200, blank=True, help_text="What it is doing, for staff.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["index"]
        indexes = [
            # Used by execution.fleet.checkout: free active wallets, the least used first.
            models.Index(fields=["state", "lease_until"], name="operator_wallet_free_idx"),
        ]

    def __str__(self) -> str:
        return f"Operator wallet #{self.index} {self.address} ({self.state})"


class DebtRecord(models.Model):
    """What a follower owes the platform for one fleet copy whose reimbursement failed.

    Exactly one per copy (``copy_trade_id`` unique): a retried or repeated failure updates it,
    never adds a second. ``open`` → ``collected`` (the recovery actor's reimbursement went
    through) or ``forgiven`` (staff, audited with a reason).
    """

    class State(models.TextChoices):
        OPEN = "open", "Open"
        COLLECTED = "collected", "Collected"
        FORGIVEN = "forgiven", "Forgiven"

    class Cause(models.TextChoices):
        ALLOWANCE = "allowance", "the allowance to the settlement contract is too low"
        BALANCE = "balance", "the wallet does not hold enough pUSD"
        REVERTED = "reverted", "the reimbursement transaction was refused on chain"
        UNREACHABLE = "unreachable", "the chain could not be reached"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="fleet_debts")
    copy_trade_id = models.BigIntegerField(unique=True, help_text="The fleet copy whose float is owed.")
    follower_address = AddressField(help_text="The wallet reimbursement is pulled from.")
    operator_address = AddressField(help_text="The operator wallet owed.")
    amount_usdc = MoneyField(help_text="Fill plus fee, owed in pUSD.")
    cause = models.CharField(max_length=12, choices=Cause.choices)
    detail = models.CharField(max_length=300, blank=True, help_text="Raw detail for staff.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    attempts = models.PositiveIntegerField(default=0, help_text="Collection attempts after the first failure.")
    next_try_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Used by execution.fleet.debts.debts_due (the recovery actor): open debts by next try.
            models.Index(fields=["next_try_at"], condition=models.Q(state="open"), name="debt_due_idx"),
        ]

    def __str__(self) -> str:
        return f"Debt {self.amount_usdc} pUSD for copy {self.copy_trade_id} ({self.state})"


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
