"""The fleet's rows: created from the configuration, and staff's drain / disable (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import BooleanField, Case, Count, F, Q, Value, When
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from execution.fleet.chain import FleetChain, fleet_chain
from execution.fleet.checkout import wallet_checkin, wallet_reacquire
from execution.fleet.keys import fleet_size, operator_account, operator_address
from execution.fleet.models import ChainTransaction, OperatorWallet
from execution.fleet.onchain import proceeds_call, read_wallet
from execution.fleet.transactions import MonitorReport, monitor_transactions, send_tracked
from polyhunter.audit import Actor, audit_record, snapshot

STATE_FIELDS = ["state", "state_reason"]


class FleetMismatch(Exception):
    """A stored wallet's address is not what TRADING_MNEMONIC derives at its index: the phrase
    changed under a fleet that may still hold float. Nothing is rewritten; staff must decide."""


@dataclass(frozen=True)
class FleetSync:
    created: int
    kept: int
    outside: int  # rows past FLEET_SIZE, set draining


def sync_fleet() -> FleetSync:
    """Make one OperatorWallet row per index 0..FLEET_SIZE-1 (idempotent).

    Raises FleetMismatch when an existing row's address differs from the derivation. Rows past
    FLEET_SIZE are set draining: they finish what they hold and take nothing new.
    """
    size = fleet_size()
    created = kept = 0
    with transaction.atomic():
        existing = {w.index: w for w in OperatorWallet.objects.select_for_update()}
        for index in range(size):
            address = operator_address(index)
            row = existing.get(index)
            if row is None:
                OperatorWallet.objects.create(index=index, address=address)
                created += 1
            elif row.address != address:
                raise FleetMismatch(
                    f"operator wallet #{index} is {row.address} in the database but TRADING_MNEMONIC derives "
                    f"{address}: was the phrase changed? Sweep and disable the old fleet first."
                )
            else:
                kept += 1
        outside = OperatorWallet.objects.filter(index__gte=size, state=OperatorWallet.State.ACTIVE).update(
            state=OperatorWallet.State.DRAINING, state_reason=f"outside FLEET_SIZE={size}", updated_at=timezone.now()
        )
    return FleetSync(created=created, kept=kept, outside=outside)


def wallet_set_state(*, wallet: OperatorWallet, state: str, reason: str, actor: Actor) -> OperatorWallet:
    """Staff: drain, disable or re-activate one wallet, with a reason, audited. A wallet holding a
    lease keeps it (its copy finishes settling); only new checkouts are refused."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required")
    if state not in OperatorWallet.State.values:
        raise ValueError(f"unknown state {state!r}")
    with transaction.atomic():
        row = OperatorWallet.objects.select_for_update().get(pk=wallet.pk)
        before = snapshot(row, STATE_FIELDS)
        row.state, row.state_reason = state, reason[:300]
        row.save(update_fields=["state", "state_reason", "updated_at"])
        audit_record(
            actor=actor,
            action=f"fleet.wallet_{state}",
            target=row,
            reason=reason,
            before=before,
            after=snapshot(row, STATE_FIELDS),
        )
    return row


def wallet_record_balances(*, wallet_id: int, float_usdc: Decimal, gas_pol: Decimal) -> None:
    """Store a chain reading of one wallet's pUSD and POL (the chain stays the truth)."""
    OperatorWallet.objects.filter(pk=wallet_id).update(
        float_usdc=float_usdc, gas_pol=gas_pol, balances_read_at=timezone.now(), updated_at=timezone.now()
    )


def wallet_refresh_balances(*, wallet: OperatorWallet, chain: FleetChain) -> OperatorWallet:
    """Read one wallet's pUSD float and POL gas from the chain and store them (what checkout
    compares an order against); returns the row as stored."""
    reading = read_wallet(w3=chain.w3, pusd=chain.pusd, address=to_checksum_address(wallet.address))
    wallet_record_balances(wallet_id=wallet.id, float_usdc=reading.pusd, gas_pol=Decimal(reading.gas_wei).scaleb(-18))
    wallet.refresh_from_db()
    return wallet


# Wallets re-read per fleet tick (every 5 s): bounded chain reads whatever FLEET_SIZE is, and a
# fleet of n wallets is read in full every n / REFRESH_PER_TICK ticks.
REFRESH_PER_TICK = 4
# A wallet in use (its float moving) goes first once its reading is this old: not every tick,
# so a fleet busier than REFRESH_PER_TICK still gets its idle wallets read.
IN_USE_REREAD = timedelta(seconds=15)


def fleet_refresh_balances(*, limit: int = REFRESH_PER_TICK) -> list[OperatorWallet]:
    """Re-read up to ``limit`` wallets: those leased now whose reading is older than IN_USE_REREAD
    first, then the ones never read or read longest ago. Disabled wallets take no copies: skipped."""
    now = timezone.now()
    due_in_use = Q(lease_until__gt=now) & (
        Q(balances_read_at__isnull=True) | Q(balances_read_at__lt=now - IN_USE_REREAD)
    )
    first = Case(When(due_in_use, then=Value(True)), default=Value(False), output_field=BooleanField())
    rows = list(
        OperatorWallet.objects.exclude(state=OperatorWallet.State.DISABLED)
        .annotate(first=first)
        .order_by("-first", F("balances_read_at").asc(nulls_first=True), "index")[:limit]
    )
    if not rows:
        return []
    chain = fleet_chain()
    return [wallet_refresh_balances(wallet=wallet, chain=chain) for wallet in rows]


# A settlement transaction not mined this many blocks after it was sent is replaced (same nonce,
# fees bumped): about 20 s on Polygon.
STUCK_AFTER_BLOCKS = 10


@sensitive_variables("account")
def _operator_signer(address: str) -> LocalAccount:
    wallet = OperatorWallet.objects.get(address=address.lower())
    account = operator_account(wallet.index)
    return account


def fleet_monitor() -> MonitorReport:
    """One pass of the stuck-transaction monitor over every operator wallet (receipts, replacement
    of stuck transactions, re-broadcast of lost bytes, nonce gaps)."""
    chain = fleet_chain()
    return monitor_transactions(w3=chain.w3, stuck_after_blocks=STUCK_AFTER_BLOCKS, signer=_operator_signer)


@dataclass(frozen=True)
class WalletStatus:
    wallet: OperatorWallet
    pusd: Decimal
    pol: Decimal
    stuck: int  # transactions sent and not mined yet


def fleet_status(*, read_chain: bool = True) -> list[WalletStatus]:
    """Every wallet with its balances (read from the chain and stored, unless ``read_chain`` is
    False) and how many of its transactions are still unmined."""
    sent = dict(
        ChainTransaction.objects.filter(state=ChainTransaction.State.SENT)
        .values_list("wallet")
        .annotate(n=Count("id"))
        .values_list("wallet", "n")
    )
    chain = fleet_chain() if read_chain else None
    rows = []
    for wallet in OperatorWallet.objects.order_by("index"):
        if chain is not None:
            wallet = wallet_refresh_balances(wallet=wallet, chain=chain)
        stuck = sent.get(to_checksum_address(wallet.address), 0) + sent.get(wallet.address, 0)
        rows.append(WalletStatus(wallet, wallet.float_usdc or Decimal(0), wallet.gas_pol or Decimal(0), stuck))
    return rows


@dataclass(frozen=True)
class SweepMove:
    wallet: OperatorWallet
    amount: Decimal
    tx_hash: str  # "" in a dry run


def fleet_sweep(*, to: str, keep_usdc: Decimal, commit: bool, only_idle: bool = True) -> list[SweepMove]:
    """Move each wallet's pUSD above ``keep_usdc`` to ``to`` (the treasury or another wallet).

    Dry run unless ``commit``. A wallet leased by a copy is skipped (its float may be spoken for);
    a sent transfer is tracked (purpose SWEEP) like any settlement transaction.
    """
    chain = fleet_chain()
    moves: list[SweepMove] = []
    for status in fleet_status():
        wallet = status.wallet
        amount = (status.pusd - keep_usdc).quantize(Decimal("0.000001"))
        if amount <= 0 or wallet.address == to.lower():
            continue
        if only_idle and wallet.lease_holder and wallet.lease_until and wallet.lease_until > timezone.now():
            continue
        if not commit:
            moves.append(SweepMove(wallet, amount, ""))
            continue
        if not wallet_reacquire(wallet_id=wallet.id, holder="sweep", activity=f"sweeping {amount} pUSD"):
            continue
        try:
            call = proceeds_call(pusd=chain.pusd, follower=to, amount=amount)  # a plain pUSD transfer
            tx = send_tracked(
                w3=chain.w3, account=operator_account(wallet.index), call=call, purpose=ChainTransaction.Purpose.SWEEP
            )
            moves.append(SweepMove(wallet, amount, tx.tx_hash))
        finally:
            wallet_checkin(wallet_id=wallet.id, holder="sweep")
    return moves
