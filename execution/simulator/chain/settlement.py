"""The venue's side of the local chain: every match settled by one transaction of its operator.

`ChainSettlement` belongs to one Venue. The venue matches in memory as always; each match (one
taker order against its maker orders) becomes a `MatchJob` that a worker thread signs with the
operator's key and sends to the exchange of the market (standard or neg-risk). The worker then
follows the node: a receipt with status 1 makes the match's trades MINED with the real hash, the
block `confirmations` deeper CONFIRMED; a reverted transaction makes them FAILED (the venue gives
both sides their balances back, as nothing moved on chain). It talks to the node with web3 only.

Set-up writes (markets, the house's liquidity, `set_balance`, approvals) go to the chain at once,
from the caller's thread. Balances the venue reports are read from the chain.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception

from .local import (
    EXCHANGES,
    MAX_UINT256,
    OPERATOR_SENDS,
    ChainInfo,
    approvals_set,
    call_tx,
    contract,
    send,
    wallet_seed,
    web3_for,
)

logger = logging.getLogger(__name__)

# The house's liquidity on chain: far more than any test, demo or benchmark trades.
HOUSE_PUSD = 10**9 * 10**6
HOUSE_SHARES = 10**9 * 10**6
# Gas: generous per maker (unused gas costs nothing); a failing settlement gets too little to run.
GAS_BASE = 120_000
GAS_PER_MAKER = 110_000
MAX_FEE_PER_GAS = 100 * 10**9
PRIORITY_FEE_PER_GAS = 10**9
SEND_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Fill:
    """One order's part in a match, as the exchange's matchOrders takes it (base units)."""

    order_hash: str
    maker: str
    side: int
    token_id: int
    making: int
    taking: int
    fee: int = 0

    def struct(self) -> tuple[Any, ...]:
        zero = b"\x00" * 32
        return (
            HexBytes(self.order_hash),
            to_checksum_address(self.maker),
            self.side,
            self.token_id,
            self.making,
            self.taking,
            self.fee,
            zero,
            zero,
        )


@dataclass(slots=True)
class MatchJob:
    trade_ids: list[str]
    exchange: str
    taker: Fill
    makers: list[Fill]
    fail: bool = False


@dataclass(slots=True)
class _Sent:
    job: MatchJob
    tx_hash: str
    block: int | None = None


# (trade ids, new status, transaction hash, block) → the venue applies it under its lock.
Apply = Callable[[list[str], str, str, int | None], None]


@dataclass(slots=True)
class ChainBalances:
    pusd: int
    shares: dict[str, int] = field(default_factory=dict)
    approved: bool = True


class ChainSettlement:
    def __init__(self, info: ChainInfo | Mapping[str, Any] | str | Path, *, confirmations: int, apply: Apply) -> None:
        self.info = ChainInfo.load(info)
        self.confirmations = max(0, confirmations)
        self.apply = apply
        self.w3: Web3 = web3_for(self.info.rpc_url)
        self.operator = cast(LocalAccount, Account.from_key(self.info.venue_operator_key))
        self.pusd = contract(self.w3, self.info, "pusd")
        self.ctf = contract(self.w3, self.info, "ctf")
        self.exchanges = {key: contract(self.w3, self.info, key) for key in EXCHANGES}
        self._jobs: queue.Queue[MatchJob] = queue.Queue()
        self._pending: list[_Sent] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._busy = 0
        self._generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._houses: set[str] = set()
        self._markets: set[str] = set()

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="venue-chain-settlement", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def reset(self) -> None:
        """Forget queued and unfinished settlements (the venue forgot their trades)."""
        with self._lock:
            self._generation += 1
            while True:
                try:
                    self._jobs.get_nowait()
                except queue.Empty:
                    break
            self._pending.clear()
            self._busy = 0
            self._idle.notify_all()
        self._houses.clear()
        self._markets.clear()

    # -- set-up writes --------------------------------------------------------------------------

    def house_attach(self, house: str, token_ids: Iterable[str]) -> None:
        """The house wallet holds ample pUSD and shares on chain and lets both exchanges move them."""
        holder = to_checksum_address(house)
        if holder not in self._houses:
            if int(self.pusd.functions.balanceOf(holder).call()) < HOUSE_PUSD // 2:
                self._operator_call(self.pusd, "mint", holder, HOUSE_PUSD)
            approvals_set(self.w3, self.info, holder)
            self._houses.add(holder)
        for token_id in token_ids:
            if int(self.ctf.functions.balanceOf(holder, int(token_id)).call()) < HOUSE_SHARES // 2:
                self._operator_call(self.ctf, "mint", holder, int(token_id), HOUSE_SHARES)

    def market_attach(self, condition_id: str, token_ids: Sequence[str]) -> None:
        """Register the market's condition and position ids with ConditionalTokens (once per chain)."""
        if condition_id in self._markets:
            return
        known = int(self.ctf.functions.getOutcomeSlotCount(HexBytes(condition_id)).call())
        if known == 0:
            positions = [int(t) for t in token_ids]
            # The venue's operator stands in for the market's oracle (UMA's adapter on Polygon).
            condition = HexBytes(condition_id)
            self._operator_call(self.ctf, "registerCondition", condition, self.operator.address, condition, positions)
        self._markets.add(condition_id)

    def set_balance(self, address: str, *, pusd: int | None, shares: Mapping[str, int], approved: bool) -> None:
        wallet_seed(self.w3, self.info, address, pusd=pusd, shares=shares, approved=True if approved else None)

    def set_approved(self, address: str, approved: bool) -> None:
        approvals_set(self.w3, self.info, address, approved=approved)

    def _operator_call(self, target: Any, function: str, *args: Any) -> None:
        send(self.w3, self.operator, call_tx(target, function, *args))

    # -- reads ----------------------------------------------------------------------------------

    def balances(self, address: str, token_ids: Sequence[str]) -> ChainBalances:
        holder = to_checksum_address(address)
        pusd = int(self.pusd.functions.balanceOf(holder).call())
        shares: dict[str, int] = {}
        if token_ids:
            amounts = self.ctf.functions.balanceOfBatch([holder] * len(token_ids), [int(t) for t in token_ids]).call()
            shares = {t: int(a) for t, a in zip(token_ids, amounts, strict=True)}
        return ChainBalances(pusd=pusd, shares=shares, approved=self.approved(holder))

    def approved(self, address: str) -> bool:
        holder = to_checksum_address(address)
        for exchange in self.exchanges.values():
            spender = exchange.address
            if int(self.pusd.functions.allowance(holder, spender).call()) < MAX_UINT256 // 2:
                return False
            if not self.ctf.functions.isApprovedForAll(holder, spender).call():
                return False
        return True

    # -- settlement -----------------------------------------------------------------------------

    def submit(self, job: MatchJob) -> None:
        with self._lock:
            self._busy += 1
            self._jobs.put(job)

    def settle_now(self, *, to: str, timeout: float = 60.0) -> None:
        """Send what is queued, then mine blocks until every settlement reached `to` (MINED/CONFIRMED)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy and time.monotonic() < deadline:
                self._idle.wait(0.05)
        while time.monotonic() < deadline:
            self._poll()
            with self._lock:
                waiting = [s for s in self._pending if to == "CONFIRMED" or s.block is None]
            if not waiting:
                return
            if all(s.block is not None for s in waiting):
                self.w3.provider.make_request(cast(Any, "evm_mine"), [])
            else:
                time.sleep(0.01)
        raise TimeoutError(f"settlements did not reach {to} within {timeout}s")

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                waiting = bool(self._pending)
            try:
                job = self._jobs.get(timeout=0.05 if waiting else 0.2)
            except queue.Empty:
                job = None
            try:
                if job is not None:
                    self._send(job)
                if self._pending:
                    self._poll()
            except Exception:  # the node went away or answered nonsense: log, keep the worker alive
                logger.exception("venue chain settlement: worker step failed")
                self._stop.wait(0.5)

    def _send(self, job: MatchJob) -> None:
        with self._lock:
            generation = self._generation
        exchange = self.exchanges[job.exchange]
        data = exchange.encode_abi("matchOrders", args=[job.taker.struct(), [m.struct() for m in job.makers]])
        # A trade_failure fault: too little gas to run, so the transaction is mined and reverts.
        gas = 21_000 + 16 * (len(data) // 2) + 4_000 if job.fail else GAS_BASE + GAS_PER_MAKER * len(job.makers)
        tx_hash = ""
        for attempt in range(SEND_ATTEMPTS):
            try:
                with OPERATOR_SENDS:  # the nonce read and the send, as one (wallets are minted by it too)
                    tx_hash = self._send_once(exchange.address, data, gas)
                break
            except (ValueError, OSError, Web3Exception) as exc:
                logger.warning("venue chain settlement: send attempt %s failed: %s", attempt + 1, exc)
                time.sleep(0.1 * (attempt + 1))
        self._sent(job, generation, tx_hash)

    def _send_once(self, to: str, data: str, gas: int) -> str:
        tx = {
            "from": self.operator.address,
            "to": to,
            "data": data,
            "gas": gas,
            "maxFeePerGas": MAX_FEE_PER_GAS,
            "maxPriorityFeePerGas": PRIORITY_FEE_PER_GAS,
            "nonce": self.w3.eth.get_transaction_count(self.operator.address, "pending"),
            "chainId": self.info.chain_id,
            "value": 0,
        }
        signed = self.operator.sign_transaction(cast(Any, tx))
        return "0x" + bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction)).hex()

    def _sent(self, job: MatchJob, generation: int, tx_hash: str) -> None:
        with self._lock:
            self._busy = max(0, self._busy - 1)
            if generation == self._generation and tx_hash:
                self._pending.append(_Sent(job=job, tx_hash=tx_hash))
            self._idle.notify_all()
        if not tx_hash and generation == self._generation:
            self.apply(job.trade_ids, "FAILED", "", None)

    def _poll(self) -> None:
        with self._lock:
            pending = list(self._pending)
            generation = self._generation
        if not pending:
            return
        head = self.w3.eth.block_number
        done: list[_Sent] = []
        for sent in pending:
            if sent.block is None:
                receipt = self._receipt(sent.tx_hash)
                if receipt is None:
                    continue
                if receipt["status"] != 1:
                    self._apply(generation, sent, "FAILED", int(receipt["blockNumber"]))
                    done.append(sent)
                    continue
                sent.block = int(receipt["blockNumber"])
                self._apply(generation, sent, "MINED", sent.block)
            if head - sent.block >= self.confirmations:
                receipt = self._receipt(sent.tx_hash)
                if receipt is None:  # its block left the chain (a reorg): wait for it again
                    sent.block = None
                    continue
                self._apply(generation, sent, "CONFIRMED", int(receipt["blockNumber"]))
                done.append(sent)
        with self._lock:
            if generation == self._generation:
                self._pending = [s for s in self._pending if s not in done]

    def _receipt(self, tx_hash: str) -> Any:
        try:
            return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return None

    def _apply(self, generation: int, sent: _Sent, status: str, block: int | None) -> None:
        if generation == self._generation:
            self.apply(sent.job.trade_ids, status, sent.tx_hash, block)
