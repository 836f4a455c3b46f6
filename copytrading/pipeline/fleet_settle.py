"""Fleet settlement: a confirmed fleet fill moved to the follower, and the float paid back.

``fleet_settle(copy_trade_id)`` (the settle actor, the ``settle`` command) takes one
SETTLEMENT_PENDING copy through two legs, each a transaction signed by the copy's operator wallet
and recorded on the row (hash, nonce, raw bytes) *before* it is broadcast:

1. **push**: the shares bought, ERC-1155 ``safeTransferFrom`` operator → the follower's wallet;
2. **reimburse**: fill + fee in pUSD, ``FleetSettlement.reimburse(copy id, follower, amount)``,
   which pulls it follower → operator under the follower's allowance and records the copy id, so
   a retried, replayed or replaced transaction can never charge twice.

Each leg goes through ``execution.fleet.transactions.send_tracked`` (a ChainTransaction row with
the raw bytes committed before the broadcast, one live transaction per copy and purpose): a run
that finds a leg already sent waits for its receipt instead of signing again, and the monitor
re-broadcasts lost bytes and replaces stuck ones at the same nonce. A worker killed after sending
settles once. Must run outside a database transaction (each leg commits before it is sent). The
position is credited when the shares have arrived (SETTLED, or DEBT when the reimbursement
failed: a DebtRecord, exactly one per copy, that the recovery actor collects later).

Serialised per follower wallet (an advisory lock on PostgreSQL; a process lock on SQLite) and per
operator wallet (its lease): two settlements never race for one follower's allowance or one
wallet's nonce. Retried with backoff (``next_check_at``); the settle tick re-sends due rows.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from copytrading.models import CopyTrade
from copytrading.pipeline.fleet import shares_to_return
from copytrading.pipeline.fleet_sell import pulled_shares
from copytrading.pipeline.positions import Fill, positions_apply_fills
from copytrading.reasons import Reason
from execution.fleet.chain import FleetChain, fleet_chain, wait_mined
from execution.fleet.checkout import holder_for_copy, wallet_checkin, wallet_reacquire
from execution.fleet.debts import debt_attempt_failed, debt_collected, debt_record
from execution.fleet.keys import operator_account
from execution.fleet.models import ChainTransaction, DebtRecord, OperatorWallet
from execution.fleet.onchain import (
    ContractCall,
    follower_approvals,
    is_settled,
    proceeds_call,
    push_shares_call,
    reimburse_call,
    revert_reason,
)
from execution.fleet.transactions import send_tracked, tracked_step
from execution.fleet.wallets import wallet_refresh_balances

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(minutes=10)
MINE_WAIT_S = 30.0
_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


def settle_retry_after(attempt: int) -> timedelta:
    return min(FIRST_RETRY * int(2 ** min(attempt, 12)), MAX_RETRY)


@contextmanager
def follower_lock(address: str) -> Iterator[None]:
    """One settlement (or debt collection) at a time per follower wallet, across all workers."""
    if connection.vendor == "postgresql":
        # One bigint key: the fleet's namespace (0x464C, "FL") above the address's CRC-32.
        key = (0x464C << 32) | zlib.crc32(address.lower().encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s::bigint)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s::bigint)", [key])
        return
    with _LOCAL_GUARD:
        lock = _LOCAL_LOCKS.setdefault(address.lower(), threading.Lock())
    with lock:
        yield


def fleet_settle(copy_trade_id: int, *, now: datetime | None = None) -> str:
    """Settle one confirmed fleet fill. Returns "settled", "debt", "waiting" or "noop" (not due,
    already settled, not a fleet copy): calling it again is always safe."""
    row = CopyTrade.objects.select_related("account").filter(pk=copy_trade_id).first()
    if row is None:
        return "noop"
    if row.status != CopyTrade.Status.SETTLEMENT_PENDING:
        return _return_unsold(row) if shares_to_return(row.id, status=row.status) else "noop"
    if row.operator_wallet_id is None:
        return "noop"
    with follower_lock(row.account.funder_address):
        row.refresh_from_db()
        if row.status != CopyTrade.Status.SETTLEMENT_PENDING:
            return "noop"
        wallet = OperatorWallet.objects.get(pk=row.operator_wallet_id)
        holder = holder_for_copy(row.id)
        if not wallet_reacquire(wallet_id=wallet.id, holder=holder, activity=f"settling copy {row.code}"):
            return _later(row, "its operator wallet is busy with another transaction", now=now)
        try:
            if row.side == CopyTrade.Side.SELL:
                return _settle_sell(row, wallet, fleet_chain(), now=now or timezone.now())
            return _settle(row, wallet, fleet_chain(), now=now or timezone.now())
        except Exception as exc:  # the node unreachable or refusing: retried with backoff, never lost
            log.warning("fleet settlement of copy %s deferred: %s", row.code, type(exc).__name__)
            return _later(row, f"chain error: {type(exc).__name__}", now=now)


def _settle(row: CopyTrade, wallet: OperatorWallet, chain: FleetChain, *, now: datetime) -> str:
    follower = row.account.funder_address
    push = push_shares_call(
        ctf=chain.ctf, operator=wallet.address, follower=follower, token_id=int(row.token_id), shares=row.size_matched
    )
    pushed = _leg(row, wallet, chain, purpose=ChainTransaction.Purpose.PUSH, call=push)
    if pushed is None:
        return _later(row, "waiting for the share transfer to be mined", now=now)
    if pushed == 0:
        log.error("fleet copy %s: the share transfer reverted; staff must look", row.code)
        return _later(row, "the share transfer reverted", now=now)
    amount = row.fill_usdc + row.fee_usdc
    if is_settled(w3=chain.w3, settlement=chain.settlement, copy_id=row.id):
        return _finish(row, wallet, chain, status=CopyTrade.Status.SETTLED, now=now)
    call = reimburse_call(settlement=chain.settlement, copy_id=row.id, follower=follower, amount=amount)
    if tracked_step(copy_id=row.id, purpose=ChainTransaction.Purpose.REIMBURSE) is None:
        refused = revert_reason(w3=chain.w3, call=call, sender=wallet.address)
        if refused is not None:
            return _debt(row, wallet, chain, amount=amount, detail=refused, now=now)
    paid = _leg(row, wallet, chain, purpose=ChainTransaction.Purpose.REIMBURSE, call=call)
    if paid is None:
        return _later(row, "waiting for the reimbursement to be mined", now=now)
    if paid == 1 or is_settled(w3=chain.w3, settlement=chain.settlement, copy_id=row.id):
        return _finish(row, wallet, chain, status=CopyTrade.Status.SETTLED, now=now)
    return _debt(row, wallet, chain, amount=amount, detail="the reimbursement transaction reverted", now=now)


def _settle_sell(row: CopyTrade, wallet: OperatorWallet, chain: FleetChain, *, now: datetime) -> str:
    """A sold fleet copy: the shares not sold back to the follower, then the proceeds (fill - fee).
    The pull already claimed the copy id on the contract; each leg is a tracked transaction (one per
    copy and purpose), so a retried run waits for what it sent instead of paying twice."""
    follower = row.account.funder_address
    unsold = pulled_shares(row.id) - row.size_matched
    if unsold > 0:
        back = push_shares_call(
            ctf=chain.ctf, operator=wallet.address, follower=follower, token_id=int(row.token_id), shares=unsold
        )
        pushed = _leg(row, wallet, chain, purpose=ChainTransaction.Purpose.PUSH, call=back)
        if pushed != 1:
            return _later(row, _waiting_or_reverted(pushed, "the shares not sold going back"), now=now)
    proceeds = row.fill_usdc - row.fee_usdc
    if proceeds > 0:
        call = proceeds_call(pusd=chain.pusd, follower=follower, amount=proceeds)
        paid = _leg(row, wallet, chain, purpose=ChainTransaction.Purpose.PROCEEDS, call=call)
        if paid != 1:
            return _later(row, _waiting_or_reverted(paid, "the sale's proceeds to your wallet"), now=now)
    return _finish(row, wallet, chain, status=CopyTrade.Status.SETTLED, now=now)


def _waiting_or_reverted(state: int | None, what: str) -> str:
    if state is None:
        return f"waiting for {what} to be mined"
    log.error("fleet sell settlement: %s reverted; staff must look", what)
    return f"{what} reverted"


def _return_unsold(row: CopyTrade) -> str:
    """A fleet sell that ended with nothing sold: every share pulled goes back to the follower, then
    the wallet is given back. "returned", "waiting" (retried by the fleet tick) or "noop"."""
    with follower_lock(row.account.funder_address):
        holder = holder_for_copy(row.id)
        pull = tracked_step(copy_id=row.id, purpose=ChainTransaction.Purpose.PULL)
        assert pull is not None
        # The wallet that sent the pull holds the shares (a sell may end before it was signed).
        wallet = OperatorWallet.objects.get(address__iexact=pull.wallet)
        if not wallet_reacquire(
            wallet_id=wallet.id, holder=holder, activity=f"returning the shares of copy {row.code}"
        ):
            return "waiting"
        chain = fleet_chain()
        if not is_settled(w3=chain.w3, settlement=chain.settlement, copy_id=row.id):
            # The pull was never mined (the contract would have recorded the copy id): nothing to return
            # once the monitor has decided it (mined or dropped).
            if pull.state == ChainTransaction.State.SENT:
                return "waiting"
            wallet_checkin(wallet_id=wallet.id, holder=holder)
            return "noop"
        call = push_shares_call(
            ctf=chain.ctf,
            operator=wallet.address,
            follower=row.account.funder_address,
            token_id=int(row.token_id),
            shares=pulled_shares(row.id),
        )
        try:
            returned = _leg(row, wallet, chain, purpose=ChainTransaction.Purpose.PUSH, call=call)
        except Exception as exc:  # the fleet tick sends it again (the wallet stays leased)
            log.warning("fleet sell %s: returning the shares deferred: %s", row.code, type(exc).__name__)
            return "waiting"
        if returned != 1:
            if returned == 0:
                log.error("fleet sell %s: returning the shares reverted; staff must look", row.code)
            return "waiting"
        wallet_checkin(wallet_id=wallet.id, holder=holder)
        return "returned"


def _leg(row: CopyTrade, wallet: OperatorWallet, chain: FleetChain, *, purpose: str, call: ContractCall) -> int | None:
    """1 (mined), 0 (reverted) or None (not mined yet) for the copy's ``purpose`` transaction,
    sent (tracked) first when it has none or its last one was dropped."""
    return _tracked(wallet, chain, copy_id=row.id, purpose=purpose, call=call)


def _tracked(
    wallet: OperatorWallet, chain: FleetChain, *, copy_id: int, purpose: str, call: ContractCall
) -> int | None:
    tx = tracked_step(copy_id=copy_id, purpose=purpose)
    if tx is None or tx.state == ChainTransaction.State.DROPPED:
        tx = send_tracked(
            w3=chain.w3, account=operator_account(wallet.index), call=call, purpose=purpose, copy_id=copy_id
        )
        OperatorWallet.objects.filter(pk=wallet.pk).update(last_nonce=tx.nonce, updated_at=timezone.now())
    if tx.state == ChainTransaction.State.MINED:
        return 1
    if tx.state == ChainTransaction.State.REVERTED:
        return 0
    return wait_mined(w3=chain.w3, tx_hash=tx.tx_hash, timeout_s=MINE_WAIT_S)


def _debt(
    row: CopyTrade, wallet: OperatorWallet, chain: FleetChain, *, amount: Decimal, detail: str, now: datetime
) -> str:
    follower = row.account.funder_address
    seen = follower_approvals(
        w3=chain.w3, pusd=chain.pusd, ctf=chain.ctf, settlement=chain.settlement, follower=follower
    )
    cause = debt_cause(allowance=seen.pusd_allowance, balance=seen.pusd_balance, amount=amount)
    debt_record(
        account=row.account,
        copy_trade_id=row.id,
        follower_address=follower,
        operator_address=wallet.address,
        amount_usdc=amount,
        cause=cause,
        detail=detail,
        now=now,
    )
    return _finish(row, wallet, chain, status=CopyTrade.Status.DEBT, now=now)


def debt_cause(*, allowance: Decimal, balance: Decimal, amount: Decimal) -> str:
    if allowance < amount:
        return DebtRecord.Cause.ALLOWANCE
    if balance < amount:
        return DebtRecord.Cause.BALANCE
    return DebtRecord.Cause.REVERTED


def _finish(row: CopyTrade, wallet: OperatorWallet, chain: FleetChain, *, status: str, now: datetime) -> str:
    """SETTLED or DEBT: the shares are the follower's now, so the position is credited, once.
    The wallet's float and gas are re-read before it is given back (its next checkout compares
    an order against them)."""
    with transaction.atomic():
        moved = CopyTrade.objects.filter(pk=row.pk, status=CopyTrade.Status.SETTLEMENT_PENDING).update(
            status=status,
            reason_code=Reason.REIMBURSEMENT_OWED if status == CopyTrade.Status.DEBT else "",
            reason_detail="",
            finished_at=now,
            next_check_at=None,
            updated_at=now,
        )
        if moved:
            positions_apply_fills([Fill(trade=row, shares=row.size_matched, usdc=row.fill_usdc, fee=row.fee_usdc)])
    try:
        _refresh(wallet, chain)
    finally:
        wallet_checkin(wallet_id=wallet.id, holder=holder_for_copy(row.id))
    return "settled" if status == CopyTrade.Status.SETTLED else "debt"


def _refresh(wallet: OperatorWallet, chain: FleetChain) -> None:
    try:
        wallet_refresh_balances(wallet=wallet, chain=chain)
    except Exception as exc:  # a reading, not the settlement: the fleet tick reads it again
        log.warning("operator wallet #%s: balances not re-read after settlement: %s", wallet.index, type(exc).__name__)


def _later(row: CopyTrade, why: str, *, now: datetime | None) -> str:
    now = now or timezone.now()
    row.settle_attempts += 1
    CopyTrade.objects.filter(pk=row.pk, status=CopyTrade.Status.SETTLEMENT_PENDING).update(
        settle_attempts=row.settle_attempts,
        reason_detail=why[:300],
        next_check_at=now + settle_retry_after(row.settle_attempts),
        updated_at=now,
    )
    return "waiting"


def fleet_settle_due(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Ids of SETTLEMENT_PENDING copies whose next try has come (the settle tick's batch)."""
    return list(
        CopyTrade.objects.filter(status=CopyTrade.Status.SETTLEMENT_PENDING, next_check_at__lte=now or timezone.now())
        .order_by("next_check_at")
        .values_list("id", flat=True)[:limit]
    )


def debt_recover(debt_id: int, *, now: datetime | None = None) -> str:
    """Try to collect one open debt: "collected", "failed" (backed off), "waiting" or "noop".

    Sent by the operator wallet owed (``reimburse`` pays its caller). The contract's record makes
    it exactly once: a copy it already shows as settled (a transaction that went through after the
    debt was written) is marked collected without sending anything.
    """
    debt = DebtRecord.objects.select_related("account").filter(pk=debt_id, state=DebtRecord.State.OPEN).first()
    if debt is None:
        return "noop"
    with follower_lock(debt.follower_address):
        chain = fleet_chain()
        if is_settled(w3=chain.w3, settlement=chain.settlement, copy_id=debt.copy_trade_id):
            return _collected(debt, now=now)
        wallet = OperatorWallet.objects.get(address=debt.operator_address)
        holder = f"debt:{debt.id}"
        if not wallet_reacquire(wallet_id=wallet.id, holder=holder, activity=f"collecting debt {debt.code}"):
            return "waiting"
        try:
            return _collect(debt, wallet, chain, now=now)
        finally:
            _refresh(wallet, chain)
            wallet_checkin(wallet_id=wallet.id, holder=holder)


def _collect(debt: DebtRecord, wallet: OperatorWallet, chain: FleetChain, *, now: datetime | None) -> str:
    call = reimburse_call(
        settlement=chain.settlement, copy_id=debt.copy_trade_id, follower=debt.follower_address, amount=debt.amount_usdc
    )
    refused = revert_reason(w3=chain.w3, call=call, sender=wallet.address)
    if refused is None:
        _tracked(wallet, chain, copy_id=debt.copy_trade_id, purpose=ChainTransaction.Purpose.REIMBURSE, call=call)
    if is_settled(w3=chain.w3, settlement=chain.settlement, copy_id=debt.copy_trade_id):
        return _collected(debt, now=now)
    seen = follower_approvals(
        w3=chain.w3, pusd=chain.pusd, ctf=chain.ctf, settlement=chain.settlement, follower=debt.follower_address
    )
    cause = debt_cause(allowance=seen.pusd_allowance, balance=seen.pusd_balance, amount=debt.amount_usdc)
    debt_attempt_failed(debt_id=debt.id, cause=cause, detail=refused or "not settled after sending", now=now)
    return "failed"


def _collected(debt: DebtRecord, *, now: datetime | None) -> str:
    # The copy stays DEBT (final); its DebtRecord says the debt was collected.
    return "collected" if debt_collected(debt_id=debt.id, now=now) else "noop"
