"""The venue's clock: what time the venue says it is, measured from ``GET /time``, never assumed.

Decisions that compare with a time the venue (or the chain) stamped use *venue time*, this
process's wall clock plus a measured offset: the L1/L2 authentication timestamps (the venue
refuses a ``POLY_TIMESTAMP`` more than 30 s off), a GTD order's expiration, and the age of a
leader trade (``occurred_at`` comes from the Data API or a block timestamp). A worker whose clock
is minutes off then still copies fresh trades, skips stale ones and is not refused (S37).

Measuring: offset = venue time - local time at the midpoint of the request's round trip. The
venue answers whole seconds, truncated, so the answer ``t`` stands for ``t + 0.5`` (error at most
half a second plus half the round trip, far inside the 30 s window and the staleness limits).

Caching: one offset per process (on the gateway). Once it is older than ``ttl_seconds`` the
first caller that needs it starts a measurement in a background thread and every caller goes on
with the previous offset; only a process with no trusted offset yet waits for the measurement
(single flight: one ``/time`` request at a time). A failed measurement is logged at WARNING and
tried again after ``retry_seconds``.

When ``/time`` cannot be read, the last offset stays trusted for ``trust_seconds`` (a clock drifts
well under a second in that time). Past that, or before any measurement, there is no trusted
time: ``offset`` raises ``VenueClockUnknown`` and copying waits (nothing is signed, sent or judged
stale) rather than fall back to the local clock, which is exactly the clock that cannot be
trusted: a skewed L2 timestamp gets a 401 that pauses the follower's account, and a skewed
staleness check copies stale trades or skips fresh ones. A venue whose ``/time`` is down is very
unlikely to take orders anyway.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from execution.venue.errors import UnexpectedAnswer, VenueError, VenueUnavailable
from execution.venue.metrics import CLOCK_OFFSET

logger = logging.getLogger(__name__)

TTL_SECONDS = 60.0
RETRY_SECONDS = 2.0
TRUST_SECONDS = 600.0


class VenueClockUnknown(VenueUnavailable):
    """No trusted venue time: ``/time`` has not answered within the trust bound. Nothing that
    needs venue time is decided; retry later, like any venue outage."""

    reason = "venue_clock_unknown"


@dataclass(frozen=True)
class ClockSample:
    offset_seconds: float
    round_trip_seconds: float
    measured_at: float  # this process's monotonic clock


@dataclass(frozen=True)
class ClockReading:
    """What readiness shows: the offset in use (None: no trusted time) and how old it is."""

    offset_seconds: float | None
    age_seconds: float | None
    error: str  # why the last measurement failed; "" when it succeeded


def parse_server_time(body: object) -> Decimal:
    """The venue's unix seconds from a ``/time`` answer (a plain number, or ``{"time": n}``)."""
    value = body.get("time") if isinstance(body, dict) else body
    seconds = None
    if isinstance(value, int | str | Decimal) and not isinstance(value, bool):
        with contextlib.suppress(InvalidOperation):
            seconds = Decimal(value)
    if seconds is None or not seconds.is_finite() or seconds <= 0:
        raise UnexpectedAnswer(f"/time answer is not a number of seconds: {body!r}")
    return seconds


def measure_offset(
    read_time: Callable[[], Decimal],
    *,
    wall: Callable[[], float] = lambda: time.time(),
    monotonic: Callable[[], float] = lambda: time.monotonic(),
) -> ClockSample:
    """One measurement: venue time minus local time at the round trip's midpoint."""
    before_wall, before = wall(), monotonic()
    venue = read_time()
    after = monotonic()
    round_trip = max(after - before, 0.0)
    local_mid = before_wall + round_trip / 2
    # A whole number is a truncated time: the true instant is anywhere in the following second.
    venue_mid = float(venue) + (0.5 if venue == venue.to_integral_value() else 0.0)
    return ClockSample(offset_seconds=venue_mid - local_mid, round_trip_seconds=round_trip, measured_at=after)


class VenueClock:
    """The process's venue time (thread-safe; one instance per gateway)."""

    def __init__(
        self,
        *,
        read_time: Callable[[], Decimal],
        ttl_seconds: float = TTL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        trust_seconds: float = TRUST_SECONDS,
        wait_seconds: float = 10.0,
    ) -> None:
        self._read_time = read_time
        self._ttl, self._retry, self._trust = ttl_seconds, retry_seconds, trust_seconds
        self._wait = wait_seconds
        self._lock = threading.Lock()
        self._sample: ClockSample | None = None
        self._due_at = 0.0  # monotonic: when the next measurement is due
        self._flight: threading.Event | None = None
        self._error = ""

    def offset(self) -> timedelta:
        """Venue time minus local time; raises VenueClockUnknown when there is no trusted one."""
        seconds = self._offset_seconds()
        if seconds is None:
            raise VenueClockUnknown(f"no trusted venue time: {self._error or 'never measured'}")
        return timedelta(seconds=seconds)

    def venue_time(self, local: datetime) -> datetime:
        """The venue's time at the local instant ``local``."""
        return local + self.offset()

    def now(self) -> float:
        """Venue unix time now, seconds."""
        seconds = self._offset_seconds()
        if seconds is None:
            raise VenueClockUnknown(f"no trusted venue time: {self._error or 'never measured'}")
        return time.time() + seconds

    def reading(self) -> ClockReading:
        """The offset in use and its age (measuring first if due); never raises."""
        seconds = self._offset_seconds()
        with self._lock:
            sample, error = self._sample, self._error
        if seconds is None or sample is None:
            return ClockReading(offset_seconds=None, age_seconds=None, error=error or "never measured")
        return ClockReading(offset_seconds=seconds, age_seconds=time.monotonic() - sample.measured_at, error=error)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no measurement is under way (for callers that need a refresh's result)."""
        with self._lock:
            flight = self._flight
        return flight is None or flight.wait(timeout)

    def _offset_seconds(self) -> float | None:
        with self._lock:
            now = time.monotonic()
            trusted = self._trusted(now)
            if now < self._due_at or (self._flight is not None and trusted is not None):
                # Fresh; pausing after a failed measurement; or being measured, the old one holds.
                return trusted
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = threading.Event()
        if leader and trusted is not None:
            # Due, with an offset still trusted: measured again off this caller's path.
            threading.Thread(target=self._measure, args=(flight,), name="venue-clock", daemon=True).start()
            return trusted
        if leader:
            return self._measure(flight)
        flight.wait(self._wait)
        with self._lock:
            return self._trusted(time.monotonic())

    def _measure(self, flight: threading.Event) -> float | None:
        sample: ClockSample | None = None
        error = "measurement did not finish"
        try:
            sample = measure_offset(self._read_time)
            error = ""
        except VenueError as exc:
            error = f"{exc.reason}: {exc.detail}"
        finally:
            with self._lock:
                now = time.monotonic()
                if sample is not None:
                    self._sample, self._error, self._due_at = sample, "", now + self._ttl
                    CLOCK_OFFSET.set(sample.offset_seconds)
                else:
                    self._error, self._due_at = error, now + self._retry
                self._flight = None
                trusted = self._trusted(now)
            flight.set()
        if sample is None:
            kept = "the last offset is kept" if trusted is not None else "copying waits until it answers"
            logger.warning("venue clock: GET /time failed (%s); %s", error, kept)
        return trusted

    def _trusted(self, now: float) -> float | None:
        sample = self._sample
        if sample is None or now - sample.measured_at > self._trust:
            return None
        return sample.offset_seconds
