"""Optional WebSocket path: ``eth_subscribe`` logs and heads, backfill over every gap.

Logs are held until their block is buried under the confirmation depth and no more legs of it
are arriving (the legs of one transaction are separate notifications; recording the first alone
would make insert-or-ignore drop the rest). A ``removed: true`` log still held is dropped; one
already recorded retracts its trade (flagging it when it was copied). Each new head also runs
the eth_getLogs scanner from the persisted cursor, so whatever the socket missed — before the
subscription, while reconnecting, or in a reorg deeper than the socket reports — is read there.

With DETECT_CONFIRMATIONS=0 a trade retracted by a removed log stays retracted even if its
transaction is re-included later: it is never copied late, at the cost of possibly missing it.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from web3 import Web3
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import connect
from websockets.sync.connection import Connection

from copytrading.detection.chain import CHAIN, SCAN_MAX_BLOCKS, LogReader, chain_scan, leader_topic
from copytrading.detection.metrics import DETECTION_ERRORS
from copytrading.detection.onchain import ORDER_FILLED_TOPICS, LeaderFill, LogDecodeError, decode_order_filled
from copytrading.detection.record import dedupe_key, leader_trades_record
from copytrading.detection.retract import leader_trades_retract
from copytrading.detection.state import CHAIN_WS_DETECTOR, detector_heartbeat
from copytrading.models import LeaderTrade, WatchedWallet

logger = logging.getLogger(__name__)


class SubscriptionError(Exception):
    """The node refused a subscription or answered something that is not JSON-RPC."""


@dataclass(slots=True)
class _Held:
    fill: LeaderFill
    arrived: float


class ChainSubscriber:
    """One WebSocket session at a time, reconnecting with backoff until ``stop`` is set."""

    def __init__(
        self,
        *,
        url: str,
        w3: Web3,
        chain: str = CHAIN,
        exchanges: Sequence[str] | None = None,
        confirmations: int | None = None,
        grace_seconds: float = 0.3,
        resubscribe_seconds: float = 10.0,
        max_backoff_seconds: float = 30.0,
        max_blocks: int | None = SCAN_MAX_BLOCKS,
    ) -> None:
        self.url = url
        self.w3 = w3
        self.chain = chain
        self.exchanges = list(exchanges or settings.POLYGON_EXCHANGE_ADDRESSES)
        self.confirmations = settings.DETECT_CONFIRMATIONS if confirmations is None else confirmations
        self.grace = grace_seconds
        self.resubscribe = resubscribe_seconds
        self.max_backoff = max_backoff_seconds
        self.max_blocks = max_blocks
        self.reader = LogReader(w3=w3, exchanges=self.exchanges)
        self.stop = threading.Event()
        self.subscribed = threading.Event()
        self.sessions = 0
        self.logs_received = 0
        self.head: int | None = None
        self._held: dict[tuple[str, int, str | None], _Held] = {}
        self._ids = itertools.count(1)
        self._subs: dict[str, str] = {}

    def run(self) -> None:
        try:
            self._run()
        finally:
            connection.close()  # this thread's own database connection

    def _run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                self._session()
                backoff = 0.5
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, InvalidURI, SubscriptionError) as exc:
                self.subscribed.clear()
                DETECTION_ERRORS.labels(detector="chain_ws", kind=type(exc).__name__).inc()
                detector_heartbeat(name=self._name, error=f"{type(exc).__name__}: {exc}")
                logger.warning("chain ws: session ended (%s); reconnecting in %.1fs", exc, backoff)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    @property
    def _name(self) -> str:
        return CHAIN_WS_DETECTOR.format(chain=self.chain)

    def _session(self) -> None:
        leaders = sorted(WatchedWallet.objects.values_list("address", flat=True))
        with connect(self.url, open_timeout=5, close_timeout=1, proxy=None) as ws:
            self._subs = {self._call(ws, "eth_subscribe", ["newHeads"]): "heads"}
            if leaders:
                self._subs[self._call(ws, "eth_subscribe", ["logs", self._filter(leaders)])] = "logs"
            self.sessions += 1
            # Subscribed first, then backfilled: a block mined in between is read by both, never
            # by neither (insert-or-ignore makes the overlap harmless).
            self._scan()
            self.subscribed.set()
            checked = time.monotonic()
            while not self.stop.is_set():
                self._receive(ws, timeout=0.2)
                self._release()
                if time.monotonic() - checked > self.resubscribe:
                    checked = time.monotonic()
                    if sorted(WatchedWallet.objects.values_list("address", flat=True)) != leaders:
                        return  # the follow list changed: a new session subscribes to the new one
        self.subscribed.clear()

    def _filter(self, leaders: Sequence[str]) -> dict[str, Any]:
        return {
            "address": self.exchanges,
            "topics": [list(ORDER_FILLED_TOPICS), None, [leader_topic(a) for a in leaders]],
        }

    def _call(self, ws: Connection, method: str, params: list[Any]) -> str:
        request_id = next(self._ids)
        ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = self._parse(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == request_id:
                if "error" in message or not isinstance(message.get("result"), str):
                    raise SubscriptionError(f"{method} refused: {message.get('error')}")
                return str(message["result"])
            self._dispatch(message)
        raise SubscriptionError(f"{method}: no answer")

    @staticmethod
    def _parse(raw: str | bytes) -> Mapping[str, Any]:
        try:
            message = json.loads(raw)
        except ValueError:
            raise SubscriptionError("not JSON") from None
        if not isinstance(message, Mapping):
            raise SubscriptionError("not a JSON-RPC message")
        return message

    def _receive(self, ws: Connection, *, timeout: float) -> None:
        try:
            raw = ws.recv(timeout=timeout)
        except TimeoutError:
            return
        self._dispatch(self._parse(raw))

    def _dispatch(self, message: Mapping[str, Any]) -> None:
        if message.get("method") != "eth_subscription":
            return
        params = message.get("params") or {}
        kind = self._subs.get(str(params.get("subscription")))
        result = params.get("result")
        if not isinstance(result, Mapping):
            return
        if kind == "heads":
            self._on_head(result)
        elif kind == "logs":
            self._on_log(result)

    def _on_head(self, head: Mapping[str, Any]) -> None:
        try:
            self.head = int(str(head.get("number")), 16)
        except ValueError:
            return
        self._scan()

    def _scan(self) -> None:
        try:
            chain_scan(
                w3=self.w3,
                chain=self.chain,
                exchanges=self.exchanges,
                confirmations=self.confirmations,
                max_blocks=self.max_blocks,
            )
        except Exception:  # counted and recorded by chain_scan; the next head retries
            logger.exception("chain ws: scan failed")
        detector_heartbeat(
            name=self._name, cursor=f"head {self.head}, {self.logs_received} logs received, {len(self._held)} held"
        )

    def _on_log(self, log: Mapping[str, Any]) -> None:
        self.logs_received += 1
        try:
            fill = decode_order_filled(log)
        except LogDecodeError as exc:
            DETECTION_ERRORS.labels(detector="chain_ws", kind="malformed_log").inc()
            logger.warning("chain ws: skipping a log that is not a valid OrderFilled: %s", exc)
            return
        slot = (fill.tx_hash, fill.log_index, fill.block_hash)
        if not log.get("removed"):
            self._held[slot] = _Held(fill=fill, arrived=time.monotonic())
            return
        self._held.pop(slot, None)
        # Held or not, the trade may already be recorded (by the scanner on this block's head,
        # or by the Data API): retracting is a no-op when it is not.
        key = dedupe_key(leader=fill.wallet, tx_hash=fill.tx_hash, token_id=fill.token_id, side=fill.side)
        result = leader_trades_retract(keys=[key], reason=f"reorg: log removed from block {fill.block_number}")
        if result.retracted:
            logger.warning("chain ws: removed log of %s; trade retracted (flagged: %s)", key, result.flagged)

    def _release(self) -> None:
        """Record held logs whose block is confirmed and has had no new leg for ``grace`` seconds."""
        if self.head is None or not self._held:
            return
        now = time.monotonic()
        blocks: dict[int, list[tuple[tuple[str, int, str | None], _Held]]] = {}
        for slot, held in self._held.items():
            blocks.setdefault(held.fill.block_number, []).append((slot, held))
        ready = [
            entries
            for number, entries in blocks.items()
            if number <= self.head - self.confirmations and now - max(h.arrived for _, h in entries) >= self.grace
        ]
        for entries in ready:
            for slot, _ in entries:
                del self._held[slot]
            fills = [held.fill for _, held in entries]
            leader_trades_record(observations=self.reader.observations(fills), source=LeaderTrade.Source.ONCHAIN)
