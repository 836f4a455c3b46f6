"""The fleet's rows: created from the configuration, and staff's drain / disable (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from execution.fleet.keys import fleet_size, operator_address
from execution.fleet.models import OperatorWallet
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
