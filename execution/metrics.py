"""Metrics of the execution safety rails (multi-process safe, see polyhunter/metrics.py).

Labels are fixed sets: ``to`` is opened/closed, ``limiter`` names a shared rate limit.
"""

from __future__ import annotations

from prometheus_client import Counter

BREAKER_CHANGES = Counter(
    "polyhunter_breaker_changes",
    "Circuit breaker state changes, each counted once across all workers.",
    ["to"],
)
RATE_LIMIT_WAITS = Counter(
    "polyhunter_rate_limit_waits",
    "Times work waited for a shared rate limit: a copy handed back for its signer's next second, a "
    "Data API poll pausing for the shared budget (or giving up its round).",
    ["limiter"],
)
