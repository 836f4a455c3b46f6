"""Fleet copies in the pipeline: the debt gate and the operator wallet checkout before signing,
and the wallet given back when a copy ends without anything to settle.

A fleet copy holds its wallet from signing until its settlement ends (execution.fleet.checkout);
caps and exposure are the follower's (the row's account), exactly as for any other mode.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone

from copytrading.models import CopyTrade
from copytrading.pipeline.leases import finish, release
from copytrading.reasons import Reason
from execution.fleet.checkout import holder_for_copy, wallet_checkin, wallet_checkout
from execution.fleet.custody import fleet_ready
from execution.fleet.debts import debts_open_total
from execution.fleet.models import ChainTransaction, OperatorWallet
from execution.fleet.transactions import tracked_step
from execution.models import GuardrailSettings
from polyhunter.broker import send_to_queue

# Settlement runs on its own queue (chain transactions, seconds each), consumed by every worker.
FLEET_QUEUE = "fleet"

# No operator wallet free: the copy is handed back and asks again this much later, for as long as
# the leader's trade is still fresh enough to copy (GuardrailSettings.max_leader_trade_age_seconds).
WALLET_WAIT_STEP = timedelta(seconds=2)

# Rows that end a fleet copy's use of its wallet: nothing was bought, or settlement finished.
_DONE = CopyTrade.TERMINAL


def fleet_gates(row: CopyTrade) -> bool:
    """Custody ready and no debt above the threshold; else the row is ended and False."""
    if not fleet_ready(row.account):
        detail = "grant the pUSD allowance to PolyHunter's settlement contract (custody page) to start copying"
        finish([row], status=CopyTrade.Status.BLOCKED, reason=Reason.CUSTODY_NOT_READY, detail=detail)
        return False
    owed = debts_open_total(account_id=row.account_id)
    if owed > GuardrailSettings.current().fleet_debt_threshold_usdc:
        finish([row], status=CopyTrade.Status.SKIPPED, reason=Reason.DEBT_OUTSTANDING, detail=f"{owed} pUSD owed")
        return False
    return True


def fleet_checkout(row: CopyTrade, *, notional: Decimal, fee: Decimal) -> OperatorWallet | None:
    """The operator wallet this copy signs with, leased; None when the row was ended instead.

    A SELL already holds its wallet (the shares were pulled to it, copytrading.pipeline.fleet_sell):
    the checkout renews that lease; the sale needs no float."""
    if not fleet_gates(row):
        return None
    sell = row.side == CopyTrade.Side.SELL
    got = wallet_checkout(
        holder=holder_for_copy(row.id),
        need_usdc=Decimal(0) if sell else notional + fee,
        activity=f"{'selling' if sell else 'placing'} copy {row.code} ({notional} pUSD)",
    )
    if got.wallet is None:
        _wait_or_skip(row, why=got.reason, retry=got.may_free_up)
    return got.wallet


def _wait_or_skip(row: CopyTrade, *, why: str, retry: bool) -> None:
    """Hand the copy back to ask again shortly while a wallet may free up (busy, or its float and
    gas re-read) and the leader's trade stays fresh; then SKIPPED ``no_operator_wallet``."""
    age = timezone.now() - row.signal_time
    bound = timedelta(seconds=GuardrailSettings.current().max_leader_trade_age_seconds)
    if retry and age + WALLET_WAIT_STEP < bound:
        release([row], after=WALLET_WAIT_STEP, reason=f"waiting for a free operator wallet: {why}")
        return
    waited = f"after waiting {int(age.total_seconds())} s, " if retry else ""
    finish([row], status=CopyTrade.Status.SKIPPED, reason=Reason.NO_OPERATOR_WALLET, detail=f"{waited}{why}")


def fleet_unsigned(row: CopyTrade, *, wallet_id: int) -> None:
    """A fleet copy that will not be signed after its checkout: the wallet goes back, unless it is a
    sell whose shares were already pulled — then settlement returns them first (sent on commit)."""
    pull = tracked_step(copy_id=row.id, purpose=ChainTransaction.Purpose.PULL)
    if pull is not None and pull.state in (ChainTransaction.State.SENT, ChainTransaction.State.MINED):
        transaction.on_commit(partial(send_to_queue, SETTLE_FLEET_ACTOR, FLEET_QUEUE, row.id))
        return
    wallet_checkin(wallet_id=wallet_id, holder=holder_for_copy(row.id))


def fleet_holder(row: CopyTrade) -> str:
    return holder_for_copy(row.id)


def operator_of(row: CopyTrade) -> str:
    """The operator wallet that signed a fleet copy (its POLY_ADDRESS), "" for any other copy."""
    if row.operator_wallet_id is None or not isinstance(row.signed_order, dict):
        return ""
    return str(row.signed_order.get("api_address", ""))


def fleet_release(row_ids: list[int]) -> int:
    """Give back the wallets of fleet copies that ended with nothing to settle (rejected, killed,
    expired…): called after recording answers, and by the settle sweep for any other path. A sell
    whose shares were pulled keeps its wallet until settlement has pushed them back."""
    released = 0
    for row_id, wallet_id, status in CopyTrade.objects.filter(
        id__in=row_ids, operator_wallet__isnull=False
    ).values_list("id", "operator_wallet_id", "status"):
        if status in _DONE:
            released += _release_or_return(row_id, wallet_id, status)
    return released


def _release_or_return(row_id: int, wallet_id: int, status: str) -> int:
    if shares_to_return(row_id, status=status):
        send_to_queue(SETTLE_FLEET_ACTOR, FLEET_QUEUE, row_id)
        return 0
    return int(wallet_checkin(wallet_id=wallet_id, holder=holder_for_copy(row_id)))


def shares_to_return(row_id: int, *, status: str) -> bool:
    """A fleet SELL that ended without settlement (nothing filled, refused, expired) while the
    shares pulled from the follower are still at the operator wallet."""
    if status not in _DONE or status in (CopyTrade.Status.SETTLED, CopyTrade.Status.DEBT):
        return False
    pulled = tracked_step(copy_id=row_id, purpose=ChainTransaction.Purpose.PULL)
    if pulled is None or pulled.state not in (ChainTransaction.State.SENT, ChainTransaction.State.MINED):
        return False
    # Once the return is sent, the transaction monitor sees it mined (or replaces it if stuck).
    pushed = tracked_step(copy_id=row_id, purpose=ChainTransaction.Purpose.PUSH)
    return pushed is None or pushed.state == ChainTransaction.State.DROPPED


# Sent by name: copytrading.tasks declares the actor and imports the pipeline (no import loop).
SETTLE_FLEET_ACTOR = "settle_fleet_copy"


def fleet_settlement_values(now: datetime) -> dict[str, object]:
    """What a confirmed fleet fill writes instead of CONFIRMED: settlement is due at once."""
    return {"status": CopyTrade.Status.SETTLEMENT_PENDING, "finished_at": None, "next_check_at": now}


def fleet_settlement_enqueue(row_ids: list[int]) -> None:
    """One settle message per confirmed fleet fill, sent once the confirmation is committed."""
    for row_id in row_ids:
        transaction.on_commit(partial(send_to_queue, SETTLE_FLEET_ACTOR, FLEET_QUEUE, row_id))


def fleet_release_ended() -> int:
    """Give back every wallet leased by a copy that has ended (a path that did not check in)."""
    held = {
        int(holder.removeprefix("copy:")): wallet_id
        for wallet_id, holder in OperatorWallet.objects.filter(lease_holder__startswith="copy:").values_list(
            "id", "lease_holder"
        )
    }
    ended = CopyTrade.objects.filter(id__in=held, status__in=_DONE).values_list("id", "status")
    return sum(_release_or_return(row_id, held[row_id], status) for row_id, status in ended)
