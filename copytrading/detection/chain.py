"""Chain detector: ``eth_getLogs`` over confirmed block ranges with a persisted per-chain cursor.

Filter: ``address ∈ exchanges``, ``topic0 ∈ {OrderFilled V1, V2}``, ``topic2 ∈ watched leaders``
(the leader as the *maker* of its own order: both its resting and its aggressive fills; never
``topic3``, which is the counterparty's view).

Each range is recorded and the cursor advanced in one transaction, so a process killed mid-way
rescans at most the range it was in, and the rescan is a no-op by ``dedupe_key``. Reorgs are
found by re-reading the hashes of recent range ends (``ChainCursor.checkpoints``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import BlockNotFound, Web3Exception

from copytrading.detection.metrics import DETECTION_ERRORS
from copytrading.detection.onchain import ORDER_FILLED_TOPICS, LeaderFill, LogDecodeError, decode_order_filled
from copytrading.detection.record import TradeObservation, dedupe_key, leader_trades_record
from copytrading.detection.retract import leader_trades_retract
from copytrading.detection.state import CHAIN_DETECTOR, detector_heartbeat
from copytrading.models import ChainCursor, LeaderTrade, WatchedWallet

logger = logging.getLogger(__name__)

CHAIN = "polygon"
CHUNK_BLOCKS = 500  # below the range cap of common Polygon RPC providers
LEADER_BATCH = 100  # addresses per topic2 OR-list
MAX_CHECKPOINTS = 64
SCAN_LEASE = timedelta(seconds=60)
# One scan message reads at most this many blocks (~4 minutes of Polygon), so a detector that
# was down catches up over several ticks instead of one message outliving its time limit.
SCAN_MAX_BLOCKS = 120
RPC_TIMEOUT_SECONDS = 10


class ChainUnavailable(Exception):
    """The RPC failed even for the smallest range; the scan stops and the next tick retries."""


@dataclass(slots=True)
class ScanResult:
    leased: bool
    head: int | None = None
    from_block: int | None = None
    to_block: int | None = None
    fills: int = 0
    new_ids: list[int] = field(default_factory=list)
    stale: int = 0
    duplicates: int = 0
    retracted: int = 0
    flagged: int = 0
    malformed: int = 0
    reorg_waiting: bool = False


def chain_web3(*, url: str | None = None) -> Web3:
    return Web3(Web3.HTTPProvider(url or settings.POLYGON_RPC_URL, request_kwargs={"timeout": RPC_TIMEOUT_SECONDS}))


def leader_topic(address: str) -> str:
    return "0x" + "0" * 24 + address.lower()[2:]


def fill_observation(fill: LeaderFill, *, occurred_at: datetime) -> TradeObservation:
    return TradeObservation(
        leader=fill.wallet,
        tx_hash=fill.tx_hash,
        token_id=fill.token_id,
        side=fill.side,
        shares=fill.shares,
        usdc=fill.usdc,
        occurred_at=occurred_at,
        leg_id=f"log:{fill.log_index}",
        block_number=fill.block_number,
        raw={
            "log_index": fill.log_index,
            "order_hash": fill.order_hash,
            "exchange": fill.exchange,
            "version": fill.version,
            "is_taker_leg": fill.is_taker_leg,
            "counterparty": fill.counterparty,
            "shares": str(fill.shares),
            "usdc": str(fill.usdc),
            "fee_raw": str(fill.fee_raw),
            "fee_unit": fill.fee_unit,
            "block_hash": fill.block_hash,
        },
    )


class LogReader:
    """Reads and decodes the watched leaders' OrderFilled logs of a block range."""

    def __init__(self, *, w3: Web3, exchanges: Sequence[str], leader_batch: int = LEADER_BATCH) -> None:
        self.w3 = w3
        self.exchanges = [to_checksum_address(a) for a in exchanges]
        self.leader_batch = leader_batch
        self._timestamps: dict[int, datetime] = {}

    def block_hash(self, number: int) -> str | None:
        try:
            return "0x" + bytes(self.w3.eth.get_block(number)["hash"]).hex()
        except BlockNotFound:
            return None

    def block_time(self, number: int) -> datetime:
        if number not in self._timestamps:
            stamp = self.w3.eth.get_block(number)["timestamp"]
            self._timestamps[number] = datetime.fromtimestamp(stamp, tz=UTC)
        return self._timestamps[number]

    def fills(self, *, leaders: Sequence[str], from_block: int, to_block: int) -> tuple[list[LeaderFill], int]:
        """Decoded fills (once each, by tx and log index) and the count of logs that did not decode."""
        watched = {a.lower() for a in leaders}
        found: dict[tuple[str, int], LeaderFill] = {}
        malformed = 0
        for start in range(0, len(leaders), self.leader_batch):
            batch = leaders[start : start + self.leader_batch]
            params: Any = {
                "fromBlock": from_block,
                "toBlock": to_block,
                "address": self.exchanges,
                "topics": [list(ORDER_FILLED_TOPICS), None, [leader_topic(a) for a in batch]],
            }
            for log in self.w3.eth.get_logs(params):
                fill = self._decode(log)
                if fill is None:
                    malformed += 1
                elif fill.wallet in watched:
                    found[(fill.tx_hash, fill.log_index)] = fill
        return sorted(found.values(), key=lambda f: (f.block_number, f.log_index)), malformed

    def _decode(self, log: Mapping[str, Any]) -> LeaderFill | None:
        if log.get("removed"):
            return None
        try:
            return decode_order_filled(log)
        except LogDecodeError as exc:
            DETECTION_ERRORS.labels(detector="chain", kind="malformed_log").inc()
            logger.warning("chain: skipping a log that is not a valid OrderFilled: %s", exc)
            return None

    def observations(self, fills: Iterable[LeaderFill]) -> list[TradeObservation]:
        return [fill_observation(f, occurred_at=self.block_time(f.block_number)) for f in fills]


def _lease(chain: str, now: datetime) -> ChainCursor | None:
    ChainCursor.objects.get_or_create(chain=chain)
    taken = (
        ChainCursor.objects.filter(chain=chain)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(lease_until=now + SCAN_LEASE)
    )
    return ChainCursor.objects.get(chain=chain) if taken == 1 else None


def chain_scan(
    *,
    w3: Web3,
    chain: str = CHAIN,
    exchanges: Sequence[str] | None = None,
    confirmations: int | None = None,
    start_block: int | None = None,
    max_blocks: int | None = None,
    chunk_blocks: int = CHUNK_BLOCKS,
    leader_batch: int = LEADER_BATCH,
) -> ScanResult:
    """Scan confirmed blocks from the cursor up to ``head - confirmations`` (at most ``max_blocks``).

    A new cursor starts at ``start_block`` (default: the first block after the confirmed head —
    history before we watched is not a detection). No-op when another worker holds the lease.
    """
    cursor = _lease(chain, timezone.now())
    if cursor is None:
        return ScanResult(leased=False)
    scanner = _Scanner(
        cursor=cursor,
        reader=LogReader(w3=w3, exchanges=exchanges or settings.POLYGON_EXCHANGE_ADDRESSES, leader_batch=leader_batch),
        confirmations=settings.DETECT_CONFIRMATIONS if confirmations is None else confirmations,
        chunk_blocks=chunk_blocks,
    )
    name = CHAIN_DETECTOR.format(chain=chain)
    try:
        result = scanner.run(start_block=start_block, max_blocks=max_blocks)
    except Exception as exc:
        DETECTION_ERRORS.labels(detector="chain", kind=type(exc).__name__).inc()
        detector_heartbeat(name=name, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        ChainCursor.objects.filter(chain=chain).update(lease_until=None)
    detector_heartbeat(name=name, cursor=f"next block {scanner.cursor.next_block} (head {result.head})")
    return result


class _Scanner:
    def __init__(self, *, cursor: ChainCursor, reader: LogReader, confirmations: int, chunk_blocks: int) -> None:
        self.cursor = cursor
        self.reader = reader
        self.confirmations = confirmations
        self.chunk = max(1, chunk_blocks)

    def run(self, *, start_block: int | None, max_blocks: int | None) -> ScanResult:
        head = self.reader.w3.eth.block_number
        safe = head - self.confirmations
        result = ScanResult(leased=True, head=head)
        if self.cursor.next_block is None:
            self._start(at=safe + 1 if start_block is None else start_block)
        assert self.cursor.next_block is not None
        leaders = list(WatchedWallet.objects.values_list("address", flat=True))
        fork = self._fork_point()
        if fork is not None and not self._rescan(fork=fork, safe=safe, leaders=leaders, result=result):
            return result
        budget = max_blocks if max_blocks is not None else max(0, safe - self.cursor.next_block + 1)
        result.from_block = self.cursor.next_block
        while self.cursor.next_block <= safe and budget > 0:
            start = self.cursor.next_block
            scanned = self._scan_range(
                start=start, end=min(start + self.chunk - 1, safe, start + budget - 1), leaders=leaders, result=result
            )
            if scanned is None:
                break
            budget -= scanned - start + 1
            result.to_block = scanned
        ChainCursor.objects.filter(id=self.cursor.id).update(head_block=head)
        return result

    def _start(self, *, at: int) -> None:
        base = at - 1
        block_hash = self.reader.block_hash(base) if base >= 0 else None
        self.cursor.next_block = at
        self.cursor.checkpoints = [[base, block_hash]] if block_hash else []
        self.cursor.save(update_fields=["next_block", "checkpoints", "updated_at"])

    def _fork_point(self) -> int | None:
        """None if the newest checkpoint is canonical; else the newest block still canonical."""
        checkpoints: list[list[Any]] = self.cursor.checkpoints or []
        for index in range(len(checkpoints) - 1, -1, -1):
            number, block_hash = checkpoints[index]
            if self.reader.block_hash(int(number)) == block_hash:
                return None if index == len(checkpoints) - 1 else int(number)
        if not checkpoints:
            return None
        logger.error("chain: reorg deeper than every checkpoint; rescanning from block %s", checkpoints[0][0])
        return int(checkpoints[0][0]) - 1

    def _rescan(self, *, fork: int, safe: int, leaders: list[str], result: ScanResult) -> bool:
        """Re-read (fork, safe], retract the trades that are gone. False: wait for the chain.

        Reading up to the confirmed head, not just up to what was scanned before, keeps a
        transaction the new branch re-included a few blocks later from being retracted.
        """
        assert self.cursor.next_block is not None
        old_end = self.cursor.next_block - 1
        if safe < old_end:
            # The new branch is still shorter than what we scanned: deciding now would retract
            # trades that are about to be re-included. Wait for it to grow past our old end.
            result.reorg_waiting = True
            return False
        fills: list[LeaderFill] = []
        for start in range(fork + 1, safe + 1, self.chunk):
            found, malformed = self.reader.fills(
                leaders=leaders, from_block=start, to_block=min(start + self.chunk - 1, safe)
            )
            fills += found
            result.malformed += malformed
        present = {dedupe_key(leader=f.wallet, tx_hash=f.tx_hash, token_id=f.token_id, side=f.side) for f in fills}
        gone = (
            LeaderTrade.objects.filter(block_number__gt=fork, block_number__lte=old_end)
            .exclude(status=LeaderTrade.Status.RETRACTED)
            .exclude(dedupe_key__in=present)
            .values_list("dedupe_key", flat=True)
        )
        end_hash = self.reader.block_hash(safe)
        with transaction.atomic():
            retracted = leader_trades_retract(keys=list(gone), reason=f"reorg: left the chain above block {fork}")
            self._record(fills, result)
            kept = [c for c in self.cursor.checkpoints if int(c[0]) <= fork]
            self.cursor.next_block = safe + 1
            self.cursor.checkpoints = [*kept, [safe, end_hash]][-MAX_CHECKPOINTS:]
            self.cursor.save(update_fields=["next_block", "checkpoints", "updated_at"])
        logger.warning("chain: reorg above block %s; %s leader trades retracted", fork, retracted.retracted)
        result.retracted += retracted.retracted
        result.flagged += retracted.flagged
        return True

    def _scan_range(self, *, start: int, end: int, leaders: list[str], result: ScanResult) -> int | None:
        """Scan [start, end] (shrinking it if the RPC refuses); the end scanned, None to stop."""
        for _attempt in range(3):
            try:
                end_hash = self.reader.block_hash(end)
                fills, malformed = self.reader.fills(leaders=leaders, from_block=start, to_block=end)
            except (ValueError, OSError, Web3Exception) as exc:
                if end == start:
                    raise ChainUnavailable(f"eth_getLogs failed for block {start}: {exc}") from exc
                # Range and result-size caps differ per provider: halve and carry on.
                end = start + (end - start) // 2
                self.chunk = max(1, end - start + 1)
                continue
            if end_hash is None:
                return None  # the head moved back under us (a reorg in progress): next tick
            if self.reader.block_hash(end) == end_hash:
                break
            # The range end was replaced while we read it: read the range again.
        else:
            raise ChainUnavailable(f"blocks {start}-{end} kept changing while read")
        with transaction.atomic():
            self._record(fills, result)
            self.cursor.next_block = end + 1
            self.cursor.checkpoints = [*(self.cursor.checkpoints or []), [end, end_hash]][-MAX_CHECKPOINTS:]
            # A long catch-up renews its lease range by range, so no second scanner starts over it.
            self.cursor.lease_until = timezone.now() + SCAN_LEASE
            self.cursor.save(update_fields=["next_block", "checkpoints", "lease_until", "updated_at"])
        result.malformed += malformed
        return end

    def _record(self, fills: list[LeaderFill], result: ScanResult) -> None:
        if not fills:
            return
        recorded = leader_trades_record(observations=self.reader.observations(fills), source=LeaderTrade.Source.ONCHAIN)
        result.fills += len(fills)
        result.new_ids += recorded.new_ids
        result.stale += len(recorded.stale_ids)
        result.duplicates += recorded.duplicates
