"""The circuit breaker's counts: one-second buckets shared through the cache (Redis in CI, the
in-process cache otherwise), counted exactly over the window."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings

from execution.guardrails.breaker import _key, breaker_counts, breaker_is_open, breaker_record

NOW = 1_795_000_000.5
LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "breaker-test"}}


def _record_a_minute() -> None:
    breaker_record(unknown=False, count=7, now=NOW - 59)  # oldest second of a 60 s window
    breaker_record(unknown=True, now=NOW - 30)
    breaker_record(unknown=True, count=2, now=NOW - 30)
    breaker_record(unknown=False, count=3, now=NOW)
    breaker_record(unknown=True, count=100, now=NOW - 60)  # just outside the window
    breaker_record(unknown=True, count=100, now=NOW + 1)  # not yet


def test_counts_cover_exactly_the_window_with_the_configured_cache() -> None:
    _record_a_minute()
    assert breaker_counts(window_seconds=60, now=NOW) == (13, 3)
    assert breaker_counts(window_seconds=31, now=NOW) == (6, 3)
    assert breaker_counts(window_seconds=1, now=NOW) == (3, 0)
    # The buckets are ordinary cache entries holding integers.
    assert cache.get(_key(int(NOW - 30), "unknown")) == 3
    assert cache.get(_key(int(NOW - 30), "total")) == 3


def test_the_in_process_cache_counts_the_same() -> None:
    with override_settings(CACHES=LOCAL):
        _record_a_minute()
        assert breaker_counts(window_seconds=60, now=NOW) == (13, 3)
        assert breaker_counts(window_seconds=31, now=NOW) == (6, 3)
        cache.clear()


@pytest.mark.parametrize(("unknown", "opened"), [(9, False), (10, True)])
def test_it_opens_at_the_ratio_once_enough_orders_were_answered(unknown: int, opened: bool) -> None:
    breaker_record(unknown=False, count=20 - unknown, now=NOW)
    breaker_record(unknown=True, count=unknown, now=NOW)
    assert breaker_is_open(window_seconds=60, min_orders=20, ratio=Decimal("0.5"), now=NOW) is opened
    assert breaker_is_open(window_seconds=60, min_orders=21, ratio=Decimal("0.5"), now=NOW) is False
