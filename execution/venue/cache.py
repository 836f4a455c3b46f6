"""A small thread-safe TTL cache with single-flight fetches and a bounded LRU.

Concurrent callers asking for the same missing or expired key share ONE fetch: the first one
fetches, the others wait for its result (or its error). Entries expire after ``ttl_seconds``
and the least recently used entry is evicted beyond ``max_entries``, so memory is bounded
whatever the number of tokens seen. Failed fetches are not cached.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from execution.venue.errors import VenueUnavailable

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _Entry(Generic[V]):
    value: V
    expires_at: float


class _Flight(Generic[V]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: V | None = None
        self.error: BaseException | None = None


class SingleFlightCache(Generic[K, V]):
    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_entries: int,
        wait_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0 or max_entries <= 0:
            raise ValueError("ttl_seconds and max_entries must be positive")
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._wait_seconds = wait_seconds
        self._clock = clock
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._flights: dict[K, _Flight[V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, fetch: Callable[[], V]) -> V:
        """The cached value, or the result of one shared ``fetch()`` (whose errors propagate)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._clock() < entry.expires_at:
                self._entries.move_to_end(key)
                return entry.value
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if leader:
            return self._lead(key, flight, fetch)
        return self._follow(flight)

    def peek(self, key: K) -> V | None:
        """The cached value if fresh, without fetching."""
        with self._lock:
            entry = self._entries.get(key)
            return entry.value if entry is not None and self._clock() < entry.expires_at else None

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._store(key, value)

    def invalidate(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _lead(self, key: K, flight: _Flight[V], fetch: Callable[[], V]) -> V:
        try:
            value = fetch()
        except BaseException as exc:
            with self._lock:
                self._flights.pop(key, None)
            flight.error = exc
            flight.done.set()
            raise
        with self._lock:
            self._store(key, value)
            self._flights.pop(key, None)
        flight.value = value
        flight.done.set()
        return value

    def _follow(self, flight: _Flight[V]) -> V:
        if not flight.done.wait(self._wait_seconds):
            raise VenueUnavailable("timed out waiting for a shared venue fetch")
        if flight.error is not None:
            # A copy per waiter: one exception instance raised in several threads would share
            # (and overwrite) one traceback.
            raise copy.copy(flight.error) from None
        return flight.value  # type: ignore[return-value]

    def _store(self, key: K, value: V) -> None:
        self._entries[key] = _Entry(value=value, expires_at=self._clock() + self.ttl_seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
