"""The long-running detect process (``manage.py run_detectors``): poll, scan, heartbeat, repeat."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.db import close_old_connections, connection
from web3 import Web3

from copytrading.detection.chain import CHAIN, SCAN_MAX_BLOCKS, chain_scan
from copytrading.detection.data_api import DataApiClient, leaders_due
from copytrading.detection.service import detection_poll
from copytrading.detection.state import detector_heartbeat
from copytrading.models import ChainCursor

logger = logging.getLogger(__name__)

RUNNER_DETECTOR = "run_detectors"


@dataclass(frozen=True, slots=True)
class TickReport:
    polled: int
    new_trades: int
    next_block: int | None


class DetectorRunner:
    """One loop for both sources. ``stop`` is set by SIGTERM; the current tick finishes first."""

    def __init__(
        self,
        *,
        w3: Web3 | None,
        client: DataApiClient | None,
        every_seconds: float,
        chain: str = CHAIN,
        max_blocks: int = SCAN_MAX_BLOCKS,
    ) -> None:
        self.w3 = w3
        self.client = client
        self.every = every_seconds
        self.chain = chain
        self.max_blocks = max_blocks
        self.stop = threading.Event()
        self.ticks = 0

    def handle_one_tick(self) -> TickReport:
        if not connection.in_atomic_block:
            close_old_connections()  # a connection the database dropped while we slept
        polled = new = 0
        if self.client is not None:
            for wallet_id in leaders_due():
                if self.stop.is_set():
                    break
                result = detection_poll(wallet_id=wallet_id, client=self.client)
                polled += 1
                new += len(result.record.new_ids) if result and result.record else 0
        next_block = None
        if self.w3 is not None and not self.stop.is_set():
            try:
                scan = chain_scan(w3=self.w3, chain=self.chain, max_blocks=self.max_blocks)
                new += len(scan.new_ids)
            except Exception:  # logged and counted by chain_scan; the next tick retries
                logger.exception("chain: scan failed")
            next_block = ChainCursor.objects.filter(chain=self.chain).values_list("next_block", flat=True).first()
        self.ticks += 1
        detector_heartbeat(
            name=RUNNER_DETECTOR, cursor=f"tick {self.ticks}: {polled} leaders polled, next block {next_block}"
        )
        return TickReport(polled=polled, new_trades=new, next_block=next_block)

    def run(self) -> int:
        """Tick until ``stop`` is set; returns the number of ticks."""
        while not self.stop.is_set():
            try:
                self.handle_one_tick()
            except Exception as exc:  # never let one bad tick end the process
                logger.exception("detectors: tick failed")
                detector_heartbeat(name=RUNNER_DETECTOR, error=f"{type(exc).__name__}: {exc}")
            self.pause()
        return self.ticks

    def pause(self) -> None:
        self.stop.wait(self.every)
