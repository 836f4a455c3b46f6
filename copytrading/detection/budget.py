"""Request budgets shared by every process, on dramatiq's rate limiter (Redis with REDIS_URL)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django_dramatiq.apps import DjangoDramatiqConfig
from dramatiq.rate_limits import WindowRateLimiter

from execution.metrics import RATE_LIMIT_WAITS

# Data API /trades allows 200 requests per 10 s (reference polymarket.md §7.1, §8.4). Our window
# and theirs are not aligned, so keep 10 % headroom rather than meet 429s at the edge.
DATA_API_TRADES_LIMIT = 180
DATA_API_TRADES_WINDOW_SECONDS = 10


class BudgetExhausted(Exception):
    """No request slot within the wait allowed; the caller gives up this round (not an error)."""


class RequestBudget:
    def __init__(
        self,
        *,
        key: str,
        name: str,
        limit: int,
        window_seconds: int,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        backend = DjangoDramatiqConfig.get_rate_limiter_backend()
        self._name = name
        self._limiter = WindowRateLimiter(backend, key, limit=limit, window=window_seconds)  # type: ignore[no-untyped-call]
        self._sleep = sleep
        self._clock = clock

    def take(self, *, max_wait: float) -> None:
        """Take one request slot, waiting up to ``max_wait`` seconds for the window to free one."""
        deadline = self._clock() + max_wait
        pause = 0.05
        while True:
            with self._limiter.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    return
            RATE_LIMIT_WAITS.labels(limiter=self._name).inc()
            if self._clock() + pause > deadline:
                raise BudgetExhausted(f"no slot in {self._limiter.key!r} within {max_wait:.1f}s")
            self._sleep(pause)
            pause = min(pause * 2, 1.0)


def data_api_trades_budget() -> RequestBudget:
    return RequestBudget(
        key="polyhunter:data-api:trades",
        name="data_api",
        limit=DATA_API_TRADES_LIMIT,
        window_seconds=DATA_API_TRADES_WINDOW_SECONDS,
    )
