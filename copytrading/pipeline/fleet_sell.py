"""Fleet SELL copies: the follower's shares are pulled to the operator wallet before it signs.

The venue (and the simulator settling on chain) trades with what the signing wallet holds, so a
fleet sell first moves the shares the follow would sell from the follower's wallet to the copy's
operator wallet — ``FleetSettlement.pull_shares(copy id, follower, token, shares)`` under the
follower's ``setApprovalForAll``, a tracked transaction (purpose ``pull``) mined before the order
is signed. The contract records the copy id, so a retried or replaced pull can never take twice.
Settlement then pushes the proceeds (fill - fee) and any share not sold back to the follower
(``copytrading.pipeline.fleet_settle``); a sell that ends with nothing filled gets all its shares
back the same way. Runs outside any database transaction (the pull's row commits before it is sent).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from copytrading.models import CopyTrade
from copytrading.pipeline.fleet import fleet_gates
from copytrading.pipeline.leases import finish, release
from copytrading.reasons import Reason
from execution.fleet.chain import FleetChain, fleet_chain, wait_mined
from execution.fleet.checkout import holder_for_copy, wallet_checkin, wallet_checkout, wallet_reacquire
from execution.fleet.keys import operator_account
from execution.fleet.models import ChainTransaction, OperatorWallet
from execution.fleet.onchain import (
    follower_approvals,
    from_base_units,
    pull_shares_call,
    revert_reason,
    settlement_contract,
)
from execution.fleet.transactions import send_tracked, tracked_step
from execution.sizing import CopySize

log = logging.getLogger(__name__)

PULL_WAIT_S = 30.0
PULL_RETRY = timedelta(seconds=5)
ZERO = Decimal(0)


def pulled_shares(copy_id: int) -> Decimal:
    """Shares the copy's ``pull`` moves to its operator wallet (0 when it has none live). Callers
    know it was mined (a row stays SENT until the monitor reads its receipt)."""
    tx = tracked_step(copy_id=copy_id, purpose=ChainTransaction.Purpose.PULL)
    if tx is None or tx.state not in (ChainTransaction.State.SENT, ChainTransaction.State.MINED):
        return ZERO
    _, params = settlement_contract(settlement=tx.to_address).decode_function_input(bytes(tx.call_data))
    return from_base_units(int(params["amount"]))


def fleet_sell_pull(row: CopyTrade, size: CopySize) -> CopySize | None:
    """The size to sign once the shares are at the operator wallet (at most what was pulled), or
    None when the row was ended (skipped/blocked) or given back to wait for the pull to be mined."""
    if not fleet_gates(row):
        return None
    wallet = _wallet_for(row)
    if wallet is None:
        return None
    try:
        mined = _pull(row, wallet, fleet_chain(), shares=size.amount)
    except Exception as exc:  # the node unreachable or refusing: nothing placed, tried again shortly
        log.warning("fleet sell %s: pulling the shares deferred: %s", row.code, type(exc).__name__)
        _give_back_unless_pulling(row, wallet)
        release([row], after=PULL_RETRY, reason=f"chain error while taking the shares: {type(exc).__name__}")
        return None
    if mined is None:
        # Sent, not mined yet: the row waits with its wallet (the pull is read back next time).
        release([row], after=PULL_RETRY, reason="waiting for the shares taken from your wallet to be mined")
        return None
    if isinstance(mined, str):
        return None
    pulled = pulled_shares(row.id)
    if pulled < size.amount:
        # A retry sized higher than what an earlier attempt pulled: sell only what is here.
        size = replace(size, amount=pulled, notional_usdc=(pulled * size.limit_price).quantize(Decimal("0.000001")))
    return size


def _wallet_for(row: CopyTrade) -> OperatorWallet | None:
    """The wallet an earlier try already pulled to (its lease re-taken even if it expired while the
    row waited), else a free one; None when the row was ended or given back to wait."""
    holder = holder_for_copy(row.id)
    activity = f"taking the shares to sell for copy {row.code}"
    earlier = tracked_step(copy_id=row.id, purpose=ChainTransaction.Purpose.PULL)
    if earlier is not None and earlier.state in (ChainTransaction.State.SENT, ChainTransaction.State.MINED):
        wallet = OperatorWallet.objects.get(address__iexact=earlier.wallet)
        if wallet_reacquire(wallet_id=wallet.id, holder=holder, activity=activity):
            return wallet
        release([row], after=PULL_RETRY, reason="the wallet holding the shares is busy with another transaction")
        return None
    got = wallet_checkout(holder=holder, need_usdc=ZERO, activity=activity)
    if got.wallet is None:
        finish([row], status=CopyTrade.Status.SKIPPED, reason=Reason.NO_OPERATOR_WALLET, detail=got.reason)
    return got.wallet


def _pull(row: CopyTrade, wallet: OperatorWallet, chain: FleetChain, *, shares: Decimal) -> int | str | None:
    """1 once the pull is mined; None while it is not; a str when the row was ended."""
    tx = tracked_step(copy_id=row.id, purpose=ChainTransaction.Purpose.PULL)
    if tx is None or tx.state == ChainTransaction.State.DROPPED:
        follower = row.account.funder_address
        seen = follower_approvals(
            w3=chain.w3, pusd=chain.pusd, ctf=chain.ctf, settlement=chain.settlement, follower=follower
        )
        if not seen.shares_approved:
            return _refused(row, wallet, status=CopyTrade.Status.BLOCKED, reason=Reason.SHARES_NOT_APPROVED)
        call = pull_shares_call(
            settlement=chain.settlement, copy_id=row.id, follower=follower, token_id=int(row.token_id), shares=shares
        )
        refused = revert_reason(w3=chain.w3, call=call, sender=wallet.address)
        if refused is not None:
            log.info("fleet sell %s: the pull would revert: %s", row.code, refused)
            detail = f"your wallet does not hold the {shares} shares this copy would sell"
            return _refused(
                row, wallet, status=CopyTrade.Status.SKIPPED, reason=Reason.SHARES_NOT_PULLED, detail=detail
            )
        tx = send_tracked(
            w3=chain.w3,
            account=operator_account(wallet.index),
            call=call,
            purpose=ChainTransaction.Purpose.PULL,
            copy_id=row.id,
        )
        OperatorWallet.objects.filter(pk=wallet.pk).update(last_nonce=tx.nonce, updated_at=timezone.now())
    if tx.state == ChainTransaction.State.MINED:
        return 1
    mined = (
        0
        if tx.state == ChainTransaction.State.REVERTED
        else wait_mined(w3=chain.w3, tx_hash=tx.tx_hash, timeout_s=PULL_WAIT_S)
    )
    if mined == 0:
        detail = "the transfer of the shares from your wallet was refused on chain"
        return _refused(row, wallet, status=CopyTrade.Status.SKIPPED, reason=Reason.SHARES_NOT_PULLED, detail=detail)
    return mined


def _refused(row: CopyTrade, wallet: OperatorWallet, *, status: str, reason: str, detail: str = "") -> str:
    """Nothing was taken from the follower: the wallet goes back and the row ends, nothing placed."""
    wallet_checkin(wallet_id=wallet.id, holder=holder_for_copy(row.id))
    finish([row], status=status, reason=reason, detail=detail)
    return reason


def _give_back_unless_pulling(row: CopyTrade, wallet: OperatorWallet) -> None:
    if tracked_step(copy_id=row.id, purpose=ChainTransaction.Purpose.PULL) is None:
        wallet_checkin(wallet_id=wallet.id, holder=holder_for_copy(row.id))
