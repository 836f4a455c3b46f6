"""Circuit breaker on the venue's recent answers, shared by all workers through the cache.

Outcomes are counted in one-second buckets (Redis in production, so every worker sees the
same counts). The breaker is open while, over the window, at least ``min_orders`` orders were
answered and the share of *unknown* outcomes (timeouts, 5xx, unreadable answers) reaches the
ratio. "Unknown" here means the venue could not be used: timeouts, 5xx, unreadable answers, and
halts (cancel-only, trading disabled, engine restarting). No new order is placed while it is open,
so it closes by itself once those answers age out of the window: the next orders are the probe.
Clean rejects, our own throttling and requests that never left never count as failures.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from django.core.cache import cache

from execution.metrics import BREAKER_CHANGES

logger = logging.getLogger(__name__)

PREFIX = "breaker:v1"


def _key(second: int, kind: str) -> str:
    return f"{PREFIX}:{second}:{kind}"


def breaker_record(*, unknown: bool, count: int = 1, now: float | None = None) -> None:
    """Count venue answers: every answered POST once, and the unknown ones also as unknown.

    Best-effort: it runs after the answers were recorded, and a cache (Redis) that is down must
    not turn recorded answers into a failed message; those answers are simply not counted."""
    second = int(now if now is not None else time.time())
    try:
        for kind in ("total", "unknown") if unknown else ("total",):
            key = _key(second, kind)
            if cache.add(key, count, timeout=3600):
                continue
            try:
                cache.incr(key, count)
            except ValueError:
                cache.set(key, count, timeout=3600)
    except Exception as exc:  # the cache's own errors (redis' ConnectionError, timeouts) vary by backend
        logger.warning("breaker: %s venue answer(s) not counted, the cache is unavailable: %s", count, exc)


def breaker_counts(*, window_seconds: int, now: float | None = None) -> tuple[int, int]:
    second = int(now if now is not None else time.time())
    keys = [_key(s, kind) for s in range(second - window_seconds + 1, second + 1) for kind in ("total", "unknown")]
    values = cache.get_many(keys)
    total = sum(int(v) for k, v in values.items() if k.endswith(":total"))
    unknown = sum(int(v) for k, v in values.items() if k.endswith(":unknown"))
    return total, unknown


def breaker_is_open(*, window_seconds: int, min_orders: int, ratio: Decimal, now: float | None = None) -> bool:
    total, unknown = breaker_counts(window_seconds=window_seconds, now=now)
    return total >= min_orders and Decimal(unknown) >= ratio * total


# Shared latch: set by the first worker that sees the breaker open, removed by the first that
# sees it closed, so each change is logged and counted once however many workers watch it.
OPEN_SINCE_KEY = "polyhunter:breaker:open-since"
_seen_open = False


def breaker_watch(*, is_open: bool, copy_code: str, now: float | None = None) -> str | None:
    """Report a change of the breaker seen by this batch ("opened"/"closed"), once across workers.

    Free while the breaker is closed and this process never saw it open; while it is open (no
    order leaves anyway) each batch tries the latch once.
    """
    global _seen_open
    if not is_open and not _seen_open:
        return None
    _seen_open = is_open
    if is_open:
        if not cache.add(OPEN_SINCE_KEY, now if now is not None else time.time(), timeout=None):
            return None
        logger.warning("circuit breaker opened: new copies are blocked (first: copy %s)", copy_code)
        BREAKER_CHANGES.labels(to="opened").inc()
        return "opened"
    if not cache.delete(OPEN_SINCE_KEY):
        return None
    logger.info("circuit breaker closed: copies flow again (first: copy %s)", copy_code)
    BREAKER_CHANGES.labels(to="closed").inc()
    return "closed"
