"""Checkout / checkin of an operator wallet: a DB lease held for a copy's order and settlement.

One copy holds one wallet at a time and one wallet serves one copy at a time, so no two workers
ever allocate one wallet's nonce at once. The lease is taken with SELECT … FOR UPDATE SKIP LOCKED
(two workers choosing at the same moment take different wallets, neither waits) and has an
expiry: a holder that crashed stops blocking the wallet once ``lease_until`` passes, and the
copy's own retry (same holder) gets the same wallet back while it is still held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from execution.fleet.models import OperatorWallet
from execution.models import GuardrailSettings

DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Checkout:
    """A wallet, or why there is none: ``reason`` is a plain sentence for the follower's pages."""

    wallet: OperatorWallet | None
    reason: str = ""
    may_free_up: bool = False  # none free now, but active wallets exist: asking again may succeed


def holder_for_copy(copy_trade_id: int) -> str:
    return f"copy:{copy_trade_id}"


def wallet_checkout(*, holder: str, need_usdc: Decimal, activity: str, lease: timedelta = DEFAULT_LEASE) -> Checkout:
    """Lease a free active wallet with at least ``need_usdc`` pUSD and the minimum POL for gas.

    The holder's own unexpired lease is renewed and returned (a retry of the same copy never takes
    a second wallet). None free: ``Checkout(None, reason)``, the copy never borrows other funds.
    """
    now = timezone.now()
    min_gas = GuardrailSettings.current().fleet_min_gas_pol
    with transaction.atomic():
        own = OperatorWallet.objects.select_for_update().filter(lease_holder=holder, lease_until__gt=now).first()
        if own is not None:
            return Checkout(_lease(own, holder=holder, activity=activity, until=now + lease))
        free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
        candidates = OperatorWallet.objects.filter(free, state=OperatorWallet.State.ACTIVE)
        funded = candidates.filter(float_usdc__gte=need_usdc, gas_pol__gte=min_gas)
        wallet = funded.select_for_update(skip_locked=True).order_by("-float_usdc", "index").first()
        if wallet is not None:
            return Checkout(_lease(wallet, holder=holder, activity=activity, until=now + lease))
    active = OperatorWallet.objects.filter(state=OperatorWallet.State.ACTIVE).exists()
    return Checkout(
        None, _why_none(active=active, candidates_exist=candidates.exists(), need_usdc=need_usdc), may_free_up=active
    )


def _lease(wallet: OperatorWallet, *, holder: str, activity: str, until: datetime) -> OperatorWallet:
    wallet.lease_holder, wallet.lease_until, wallet.in_flight, wallet.activity = holder, until, 1, activity[:200]
    wallet.save(update_fields=["lease_holder", "lease_until", "in_flight", "activity", "updated_at"])
    return wallet


def _why_none(*, active: bool, candidates_exist: bool, need_usdc: Decimal) -> str:
    if not active:
        return "no operator wallet is taking copies right now"
    if not candidates_exist:
        return "every operator wallet is busy with another copy"
    return f"no free operator wallet has the {need_usdc} pUSD and the gas this order needs"


def wallet_checkin(*, wallet_id: int, holder: str) -> bool:
    """Give the wallet back. Only its holder can; a holder whose lease was taken over changes nothing."""
    return bool(
        OperatorWallet.objects.filter(pk=wallet_id, lease_holder=holder).update(
            lease_holder="", lease_until=None, in_flight=0, activity="", updated_at=timezone.now()
        )
    )


def wallet_held_by(*, holder: str) -> OperatorWallet | None:
    """The wallet this holder leases now (expired or not: a settlement resumes on its wallet)."""
    return OperatorWallet.objects.filter(lease_holder=holder).first()


def wallet_reacquire(*, wallet_id: int, holder: str, activity: str, lease: timedelta = DEFAULT_LEASE) -> bool:
    """Take (or keep) the lease on one given wallet — settlement must use the wallet holding the
    shares or owed the float. False while another holder's lease on it is still running."""
    now = timezone.now()
    free = Q(lease_holder=holder) | Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    return bool(
        OperatorWallet.objects.filter(free, pk=wallet_id).update(
            lease_holder=holder, lease_until=now + lease, in_flight=1, activity=activity[:200], updated_at=now
        )
    )
