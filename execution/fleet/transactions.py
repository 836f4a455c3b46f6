"""Tracked transactions of the operator wallets: nonce assignment, persist-then-send, and the monitor
that settles each one's fate (mined, reverted, replaced, dropped) and repairs stuck ones and gaps.

Every transaction is signed, then its row (with the raw signed bytes) committed, then broadcast:
a crash or a send error after the commit leaves a SENT row the monitor finishes, by re-broadcasting
the same bytes, never by signing a new transaction for the same purpose. The only new signature for
a nonce already used is a fee-bumped replacement of a stuck one (same call, same nonce), so the
chain mines at most one of them; the settlement contract's per-copy record makes the copy's outcome
exactly once either way.

Keys: the caller derives the operator's `LocalAccount` in memory where it signs and passes it in
(`send_tracked`) or a function giving it per address (`monitor_transactions`); nothing is stored.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import TransactionNotFound

from polyhunter.log_redaction import redact

from .models import ChainTransaction
from .onchain import ContractCall

logger = logging.getLogger(__name__)
Signer = Callable[[str], LocalAccount]
GAP_FILL_GAS = 21_000
# EIP-1559 replacement (geth's txpool price bump, also what anvil's pool asks): at least +10% on
# both the fee cap and the tip, rounded up.
REPLACEMENT_BUMP_PERCENT = 10
MAX_ERROR = 500


class OpenTransaction(RuntimeError):
    """send_tracked called inside a database transaction: its row must be committed before sending."""


@dataclass
class MonitorReport:
    mined: int = 0
    reverted: int = 0
    replaced: int = 0
    dropped: int = 0
    rebroadcast: int = 0
    gap_filled: int = 0
    errors: int = 0

    def __iadd__(self, other: MonitorReport) -> MonitorReport:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self


def _lock_wallet(address: str) -> None:
    """Serialise nonce decisions of one wallet across processes (released at commit).

    The caller also holds the wallet's lease; this lock is what makes two code paths that forgot
    it (or the monitor replacing while a settlement sends) unable to pick one nonce twice.
    """
    if connection.vendor != "postgresql":  # SQLite (embedded demo): one writer at a time anyway
        return
    key = int.from_bytes(hashlib.sha256(f"fleet-nonce:{address.lower()}".encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def fresh_fees(*, w3: Web3) -> tuple[int, int]:
    """(max fee, priority fee) per gas for a transaction sent now: twice the latest base fee plus the
    node's suggested tip, so it stays includable through a few full blocks of base-fee rises."""
    block = w3.eth.get_block("latest")
    tip = int(w3.eth.max_priority_fee)
    return 2 * int(block.get("baseFeePerGas", 0)) + tip, tip


def bumped(fee: int) -> int:
    """`fee` raised by the replacement rule's minimum, rounded up (a replacement at +9.99% is refused)."""
    return math.ceil(fee * (100 + REPLACEMENT_BUMP_PERCENT) / 100)


def _next_nonce(*, w3: Web3, wallet: str) -> int:
    """The chain's pending nonce, or past the last one we tracked when the node has not seen that yet."""
    pending = int(w3.eth.get_transaction_count(cast(Any, wallet), "pending"))
    last = ChainTransaction.objects.filter(wallet=wallet).order_by("-nonce").values_list("nonce", flat=True).first()
    return pending if last is None else max(pending, last + 1)


def _signed_row(
    *,
    w3: Web3,
    account: LocalAccount,
    call: ContractCall,
    nonce: int,
    fees: tuple[int, int],
    purpose: str,
    copy_id: int | None,
) -> ChainTransaction:
    """Sign and create the row (inside the caller's locked transaction); not yet broadcast."""
    max_fee, tip = fees
    to = to_checksum_address(call.to)
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": w3.eth.chain_id,
        "nonce": nonce,
        "to": to,
        "data": call.data,
        "value": call.value,
        "gas": call.gas,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": min(tip, max_fee),
    }
    signed = account.sign_transaction(tx)
    return ChainTransaction.objects.create(
        wallet=account.address,
        nonce=nonce,
        purpose=purpose,
        copy_id=copy_id,
        to_address=to,
        call_data=call.data,
        value_wei=call.value,
        gas=call.gas,
        tx_hash="0x" + bytes(signed.hash).hex(),
        raw_tx=bytes(signed.raw_transaction),
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=min(tip, max_fee),
        sent_at=timezone.now(),
        sent_block=int(w3.eth.block_number),
    )


def _broadcast(*, w3: Web3, row: ChainTransaction, again: bool) -> bool:
    """Send the stored bytes; False (and the error on the row) when the node refused or was unreachable.

    A refusal is not a verdict: the bytes may already be in the pool, or the nonce used. The
    monitor decides from receipts and nonces, never from an error's wording.
    """
    try:
        w3.eth.send_raw_transaction(bytes(row.raw_tx))
    except Exception as exc:
        ChainTransaction.objects.filter(pk=row.pk).update(
            # Redacted: a provider's message may quote the RPC URL with its API key.
            last_error=redact(f"{type(exc).__name__}: {exc}")[:MAX_ERROR],
            attempts=F("attempts") + int(again),
        )
        row.refresh_from_db(fields=["last_error", "attempts"])
        return False
    ChainTransaction.objects.filter(pk=row.pk).update(last_error="", attempts=F("attempts") + int(again))
    row.refresh_from_db(fields=["last_error", "attempts"])
    return True


def send_tracked(
    *, w3: Web3, account: LocalAccount, call: ContractCall, purpose: str, copy_id: int | None = None
) -> ChainTransaction:
    """Sign `call` from `account` at the wallet's next nonce, commit its row, then broadcast it.

    Returns the row, SENT; its `last_error` is set when the broadcast failed (the monitor
    re-broadcasts the same bytes). A copy's step (`copy_id`, `purpose`) that already has a SENT or
    MINED transaction returns that row and sends nothing: a retried actor cannot pay twice in gas
    or race its own transaction. Must be called outside any database transaction.
    """
    if purpose not in ChainTransaction.Purpose.values:
        raise ValueError(f"unknown purpose {purpose!r}")
    if connection.in_atomic_block:
        raise OpenTransaction("send_tracked commits its row before sending: call it outside transaction.atomic")
    fees = fresh_fees(w3=w3)
    with transaction.atomic():
        _lock_wallet(account.address)
        existing = tracked_step(copy_id=copy_id, purpose=purpose) if copy_id is not None else None
        if existing is not None and existing.state in (ChainTransaction.State.SENT, ChainTransaction.State.MINED):
            return existing
        nonce = _next_nonce(w3=w3, wallet=account.address)
        row = _signed_row(w3=w3, account=account, call=call, nonce=nonce, fees=fees, purpose=purpose, copy_id=copy_id)
    _broadcast(w3=w3, row=row, again=False)
    return row


def tracked_step(*, copy_id: int, purpose: str) -> ChainTransaction | None:
    """The latest transaction of a copy's settlement step that was not replaced (its state is the
    step's state: SENT in flight, MINED done, REVERTED or DROPPED to decide again), or None."""
    return (
        ChainTransaction.objects.filter(copy_id=copy_id, purpose=purpose)
        .exclude(state=ChainTransaction.State.REPLACED)
        .order_by("-pk")
        .first()
    )


def _receipt(w3: Web3, tx_hash: str) -> Any:
    try:
        return w3.eth.get_transaction_receipt(cast(Any, tx_hash))
    except TransactionNotFound:
        return None


def _known(w3: Web3, tx_hash: str) -> bool:
    try:
        w3.eth.get_transaction(cast(Any, tx_hash))
    except TransactionNotFound:
        return False
    return True


def _resolve_mined(rows: list[ChainTransaction], winner: ChainTransaction, receipt: Any) -> str:
    """One hash of the nonce has a receipt: it is MINED (or REVERTED), every other one REPLACED."""
    state = ChainTransaction.State.MINED if receipt["status"] == 1 else ChainTransaction.State.REVERTED
    others = [r.pk for r in rows if r.pk != winner.pk]
    # Others first: the one-per-nonce constraint allows a single row that is not REPLACED.
    ChainTransaction.objects.filter(pk__in=others).update(state=ChainTransaction.State.REPLACED)
    ChainTransaction.objects.filter(pk=winner.pk).update(state=state, block_number=int(receipt["blockNumber"]))
    return "mined" if state == ChainTransaction.State.MINED else "reverted"


def _replace(*, w3: Web3, live: ChainTransaction, rows: list[ChainTransaction], signer: Signer) -> ChainTransaction:
    """A new signature of the live row's call at its nonce, fees above every earlier one by the bump rule."""
    max_fee, tip = fresh_fees(w3=w3)
    max_fee = max(max_fee, *(bumped(r.max_fee_per_gas) for r in rows))
    tip = max(tip, *(bumped(r.max_priority_fee_per_gas) for r in rows))
    call = ContractCall(to=live.to_address, data=bytes(live.call_data), gas=live.gas, value=int(live.value_wei))
    ChainTransaction.objects.filter(pk=live.pk).update(state=ChainTransaction.State.REPLACED)
    new = _signed_row(
        w3=w3,
        account=signer(live.wallet),
        call=call,
        nonce=live.nonce,
        fees=(max_fee, min(tip, max_fee)),
        purpose=live.purpose,
        copy_id=live.copy_id,
    )
    ChainTransaction.objects.filter(pk=live.pk).update(replaced_by=new)
    return new


def _settle_nonce(
    *, w3: Web3, wallet: str, nonce: int, stuck_after_blocks: int, signer: Signer, report: MonitorReport
) -> None:
    """Decide one nonce of `wallet` that has a SENT row (under the wallet's lock), then broadcast."""
    to_send: ChainTransaction | None = None
    again = True
    with transaction.atomic():
        _lock_wallet(wallet)
        rows = list(ChainTransaction.objects.filter(wallet=wallet, nonce=nonce).order_by("pk"))
        live = next((r for r in rows if r.state == ChainTransaction.State.SENT), None)
        if live is None:  # another monitor decided it meanwhile
            return
        # Read before the receipts: a transaction mined between the two reads then shows its
        # receipt, instead of a used nonce without one (which would wrongly read as dropped).
        used = nonce < int(w3.eth.get_transaction_count(cast(Any, wallet), "latest"))
        candidates = [r for r in rows if r.state in (ChainTransaction.State.SENT, ChainTransaction.State.REPLACED)]
        for row in candidates:
            receipt = _receipt(w3, row.tx_hash)
            if receipt is not None:
                outcome = _resolve_mined(candidates, row, receipt)
                setattr(report, outcome, getattr(report, outcome) + 1)
                return
        if used:  # by none of our hashes: something else took the nonce
            ChainTransaction.objects.filter(pk=live.pk).update(state=ChainTransaction.State.DROPPED)
            logger.warning("fleet tx %s dropped: nonce %s of %s used by another transaction", live.pk, nonce, wallet)
            report.dropped += 1
            return
        if int(w3.eth.block_number) - live.sent_block >= stuck_after_blocks:
            to_send, again = _replace(w3=w3, live=live, rows=rows, signer=signer), False
            logger.info("fleet tx %s stuck at nonce %s of %s: replaced by %s", live.pk, nonce, wallet, to_send.pk)
            report.replaced += 1
        elif not _known(w3, live.tx_hash):  # the node lost it (dropped from its pool, restarted)
            to_send = live
            report.rebroadcast += 1
    if to_send is not None:
        _broadcast(w3=w3, row=to_send, again=again)


def _fill_gaps(*, w3: Web3, wallet: str, signer: Signer, report: MonitorReport) -> None:
    """Nonces below a SENT one that nothing occupies (the chain waits for them forever): an empty
    self-transfer at each, so the tracked transactions above can be mined."""
    with transaction.atomic():
        _lock_wallet(wallet)
        # From the mined nonce, not the pending one: a node may count its pool past a hole.
        mined = int(w3.eth.get_transaction_count(cast(Any, wallet), "latest"))
        above = ChainTransaction.objects.filter(wallet=wallet, nonce__gte=mined).exclude(
            state=ChainTransaction.State.REPLACED
        )
        sent = set(above.filter(state=ChainTransaction.State.SENT).values_list("nonce", flat=True))
        if not sent:
            return
        occupied = dict(above.values_list("nonce", "state"))
        if any(state != ChainTransaction.State.SENT for state in occupied.values()):
            # Mined by our records but not on this node: it runs behind them (restored from an
            # older state). Nothing is signed over a recorded transaction; staff must look.
            logger.error("fleet wallet %s: the node's nonce %s is behind tracked transactions", wallet, mined)
        missing = [n for n in range(mined, max(sent)) if n not in occupied]
        fills = []
        for nonce in missing:
            call = ContractCall(to=wallet, data=b"", gas=GAP_FILL_GAS)
            fills.append(
                _signed_row(
                    w3=w3,
                    account=signer(wallet),
                    call=call,
                    nonce=nonce,
                    fees=fresh_fees(w3=w3),
                    purpose=ChainTransaction.Purpose.GAP_FILL,
                    copy_id=None,
                )
            )
    for row in fills:
        logger.warning("fleet wallet %s: nonce gap at %s filled by tx %s", wallet, row.nonce, row.pk)
        _broadcast(w3=w3, row=row, again=False)
        report.gap_filled += 1


def monitor_wallet(*, w3: Web3, wallet: str, stuck_after_blocks: int, signer: Signer) -> MonitorReport:
    """Settle the fate of `wallet`'s SENT transactions, lowest nonce first, then fill nonce gaps."""
    report = MonitorReport()
    nonces = (
        ChainTransaction.objects.filter(wallet=wallet, state=ChainTransaction.State.SENT)
        .order_by("nonce")
        .values_list("nonce", flat=True)
    )
    for nonce in list(nonces):
        _settle_nonce(
            w3=w3, wallet=wallet, nonce=nonce, stuck_after_blocks=stuck_after_blocks, signer=signer, report=report
        )
    _fill_gaps(w3=w3, wallet=wallet, signer=signer, report=report)
    return report


def monitor_transactions(*, w3: Web3, stuck_after_blocks: int, signer: Signer) -> MonitorReport:
    """One pass over every wallet with a SENT transaction (a cron actor or `fleet status` runs it).

    Outside any database transaction: each decision commits before its broadcast.
    """
    if connection.in_atomic_block:
        raise OpenTransaction("monitor_transactions commits before sending: call it outside transaction.atomic")
    report = MonitorReport()
    wallets = ChainTransaction.objects.filter(state=ChainTransaction.State.SENT).values_list("wallet", flat=True)
    for wallet in sorted(set(wallets)):
        try:
            report += monitor_wallet(w3=w3, wallet=wallet, stuck_after_blocks=stuck_after_blocks, signer=signer)
        except Exception:  # one wallet's failure (node error, key not derivable) never stops the others
            logger.exception("fleet wallet %s: monitoring failed", wallet)
            report.errors += 1
    return report
