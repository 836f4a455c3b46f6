"""Entry points the actors, the scheduler and run_detectors share (each: one call, ids in)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from copytrading.detection.budget import BudgetExhausted
from copytrading.detection.chain import CHAIN, SCAN_MAX_BLOCKS, ScanResult, chain_scan, chain_web3
from copytrading.detection.data_api import DataApiClient, DataApiError, PollResult, leader_poll, leaders_due
from copytrading.detection.metrics import DETECTION_ERRORS
from copytrading.detection.state import DATA_API_DETECTOR, detector_heartbeat

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TickResult:
    polls: list[int]
    chain: bool


def detection_tick(
    *,
    send_poll: Callable[[int], object],
    send_scan: Callable[[str], object],
) -> TickResult:
    """Enqueue one Data API poll per due leader and one chain scan (when a chain is configured).

    One poll per leader, however many followers it has; the poll lease and the message max_age
    keep a slow queue from polling a leader twice at once.
    """
    polls = leaders_due()
    for wallet_id in polls:
        send_poll(wallet_id)
    chain = bool(settings.POLYGON_RPC_URL)
    if chain:
        send_scan(CHAIN)
    return TickResult(polls=polls, chain=chain)


def detection_poll(*, wallet_id: int, client: DataApiClient | None = None) -> PollResult | None:
    """Poll one leader; an unavailable Data API or an empty budget is logged, not raised."""
    try:
        result = leader_poll(wallet_id=wallet_id, client=client)
    except BudgetExhausted as exc:
        DETECTION_ERRORS.labels(detector="data_api", kind="budget").inc()
        logger.info("data api: %s; leader %s waits for the next tick", exc, wallet_id)
        return None
    except DataApiError as exc:
        detector_heartbeat(name=DATA_API_DETECTOR, error=f"leader {wallet_id}: {type(exc).__name__}: {exc}")
        logger.warning("data api: poll of leader %s failed: %s", wallet_id, exc)
        return None
    if result.leased:
        detector_heartbeat(name=DATA_API_DETECTOR, cursor=f"leader {wallet_id} at {result.cursor_ts}")
    return result


def detection_scan(*, chain: str = CHAIN, max_blocks: int = SCAN_MAX_BLOCKS) -> ScanResult | None:
    """Scan the next confirmed blocks of the configured chain; None when no RPC is configured."""
    if not settings.POLYGON_RPC_URL:
        return None
    return chain_scan(w3=chain_web3(), chain=chain, max_blocks=max_blocks)
