"""Prometheus metrics of detection (exported by django-prometheus from the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DETECTION_LAG = Histogram(
    "polyhunter_detection_lag_seconds",
    "Seconds from the leader's fill (block or trade time) to PolyHunter first recording it.",
    ["source"],
    buckets=(0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120, 300, 900, 3600),
)
LEADER_TRADES = Counter(
    "polyhunter_leader_trades",
    "Leader trades recorded for the first time, by source and the status they were recorded with.",
    ["source", "status"],
)
DETECTION_ERRORS = Counter(
    "polyhunter_detection_errors",
    "Detector failures (Data API polls, chain scans, subscriptions), by detector and kind.",
    ["detector", "kind"],
)
