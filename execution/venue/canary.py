"""Version canary: before placing, make sure the venue still speaks the order version we sign.

``/version`` is read at most once per ``ttl_seconds`` (a failed read is retried sooner), by one
thread at a time; the others reuse its answer. A version other than EXPECTED_VENUE_VERSION, or
no readable version at all, refuses every order with a ``VersionMismatch`` until a later check
passes. Each check is written to the VenueHealth row for staff (a failure to write it is logged,
never allowed to break trading decisions).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from execution.venue.environment import EXPECTED_VENUE_VERSION
from execution.venue.errors import VenueError, VersionMismatch

logger = logging.getLogger(__name__)


class VersionUnverified(VersionMismatch):
    """``/version`` could not be read, so the order version cannot be confirmed; nothing was sent.

    Same handling as VersionMismatch: orders resume once the venue answers again.
    """

    reason = "venue_version_unverified"


@dataclass(frozen=True, kw_only=True)
class VersionCheck:
    expected: int
    seen: int | None
    refused: bool
    detail: str
    checked_at: datetime


def record_venue_health(check: VersionCheck) -> None:
    from execution.models import VenueHealth

    try:
        VenueHealth.record_check(
            expected=check.expected,
            seen=check.seen,
            refused=check.refused,
            detail=check.detail,
            at=check.checked_at,
        )
    except Exception:  # a side channel: staff visibility must never change a trading decision
        logger.exception("could not record the venue version check")


class VersionCanary:
    def __init__(
        self,
        *,
        fetch_version: Callable[[], int],
        expected: int = EXPECTED_VENUE_VERSION,
        ttl_seconds: float = 30.0,
        retry_seconds: float = 2.0,
        record: Callable[[VersionCheck], None] | None = record_venue_health,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch_version = fetch_version
        self.expected = expected
        self._ttl, self._retry = ttl_seconds, retry_seconds
        self._record = record
        self._clock = clock
        self._lock = threading.Lock()
        self._last: VersionCheck | None = None
        self._valid_until = 0.0

    def ensure(self) -> VersionCheck:
        """The current check; raises VersionMismatch (or VersionUnverified) when orders are refused."""
        check = self.current()
        if check.seen is None:
            raise VersionUnverified(check.detail)
        if check.refused:
            raise VersionMismatch(check.detail)
        return check

    def current(self) -> VersionCheck:
        with self._lock:
            if self._last is not None and self._clock() < self._valid_until:
                return self._last
            check = self._check()
            self._last = check
            self._valid_until = self._clock() + (self._ttl if check.seen is not None else self._retry)
            if self._record is not None:
                self._record(check)
            return check

    def _check(self) -> VersionCheck:
        now = timezone.now()
        try:
            seen = self._fetch_version()
        except VenueError as exc:
            detail = f"trading refused: the venue's /version could not be read ({exc.reason}: {exc.detail})"
            logger.warning(detail)
            return VersionCheck(expected=self.expected, seen=None, refused=True, detail=detail, checked_at=now)
        if seen != self.expected:
            detail = (
                f"trading refused: the venue answers order version {seen} but this code signs version "
                f"{self.expected}; upgrade the order signing (polymarket-client) before trading again"
            )
            logger.error(detail)
            return VersionCheck(expected=self.expected, seen=seen, refused=True, detail=detail, checked_at=now)
        detail = f"venue order version {seen} matches"
        return VersionCheck(expected=self.expected, seen=seen, refused=False, detail=detail, checked_at=now)
