"""Metrics of the venue gateway: answers by endpoint and class, request latency, clock offset.

``endpoint`` is a fixed name per route (never a token or order id), ``kind`` and ``reason`` the
classifier's codes (or, for reads, ok / refused / unavailable / not_sent / answer_lost and the
HTTP status).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

VENUE_ANSWERS = Counter(
    "polyhunter_venue_answers",
    "Venue answers by endpoint, class (placed, rejected, unknown, retry_later, found, not_found, ok, "
    "refused, unavailable, not_sent, answer_lost) and reason.",
    ["endpoint", "kind", "reason"],
)
VENUE_SECONDS = Histogram(
    "polyhunter_venue_request_seconds",
    "Seconds from sending a venue request to its answer (or to giving up), by endpoint.",
    ["endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CLOCK_OFFSET = Gauge(
    "polyhunter_venue_clock_offset_seconds",
    "Venue time (GET /time) minus this host's clock, as last measured by a process (positive: the "
    "host's clock is behind). Copying corrects for it; a large value means the host's NTP needs fixing.",
    multiprocess_mode="livemostrecent",
)

_PREFIXES = (
    ("/markets-by-token/", "markets_by_token"),
    ("/clob-markets/", "clob_market"),
    ("/markets/", "market"),
    ("/data/order/", "order_lookup"),
    ("/data/trades", "trades"),
    ("/balance-allowance", "balance"),
    ("/book", "book"),
    ("/time", "time"),
    ("/version", "version"),
)


def endpoint_name(path: str) -> str:
    """A fixed name for a CLOB path (no ids in labels)."""
    for prefix, name in _PREFIXES:
        if path.startswith(prefix):
            return name
    return "other"


def venue_observed(*, endpoint: str, kind: str, reason: str, seconds: float) -> None:
    VENUE_ANSWERS.labels(endpoint=endpoint, kind=kind, reason=reason or "none").inc()
    VENUE_SECONDS.labels(endpoint=endpoint).observe(seconds)
