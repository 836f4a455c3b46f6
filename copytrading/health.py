"""Readiness: can the platform copy a leader trade right now? Each dependency with its state and age.

``platform_readiness`` checks, in this order: the database, Redis (when configured), the venue
(an uncached ``/version`` probe: answering, and the order version this code signs), this host's
clock against the venue's ``/time`` (offset known and within VENUE_CLOCK_MAX_OFFSET_SECONDS), detection
freshness per source in use, the scheduler's heartbeat, the three trading switches and the
circuit breaker. The platform is ready only when every check is ``ok``. Ages are seconds since
the state was last seen good (or since it changed), so a stale reading says how stale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from copytrading.detection.chain import CHAIN
from copytrading.detection.state import CHAIN_DETECTOR, DATA_API_DETECTOR
from copytrading.models import CopyRelationship
from copytrading.observed import breaker_reading, detector_ages, scheduler_heartbeat_age
from execution.guardrails.breaker import OPEN_SINCE_KEY
from execution.models import TradingSwitch, VenueHealth
from execution.switches import switch_states
from execution.venue.environment import EXPECTED_VENUE_VERSION
from execution.venue.errors import VenueError
from execution.venue.gateway import default_gateway

SCHEDULER_STALE_SECONDS = 30.0
CHAIN_STALE_SECONDS = 120.0


def data_api_stale_seconds() -> float:
    """A followed leader is polled every DETECT_POLL_SECONDS: a minute without one is a stop."""
    return max(60.0, 15 * float(settings.DETECT_POLL_SECONDS))


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # ok, or what is wrong: down, stale, missing, engaged, open, refused
    age_seconds: float | None = None
    limit_seconds: float | None = None
    offset_seconds: float | None = None  # the clock check's: venue time minus this host's

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"state": self.state}
        body["age_seconds"] = None if self.age_seconds is None else round(self.age_seconds, 3)
        if self.limit_seconds is not None:
            body["limit_seconds"] = self.limit_seconds
        if self.name == "clock":
            body["offset_seconds"] = None if self.offset_seconds is None else round(self.offset_seconds, 3)
        return body


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, object]:
        return {"ready": self.ready, "checks": {check.name: check.as_json() for check in self.checks}}


def platform_readiness(*, now: float | None = None) -> Readiness:
    now = now if now is not None else time.time()
    database = _database()
    checks = [database]
    if settings.REDIS_URL:
        checks.append(_redis())
    checks.append(_venue(now=now, database_ok=database.ok))
    checks.append(_clock())
    if database.ok:
        checks.extend(_detection(now=now))
        checks.append(_age_check("scheduler", scheduler_heartbeat_age(now=now), SCHEDULER_STALE_SECONDS))
        checks.extend(_switches(now=now))
        checks.append(_breaker(now=now))
    return Readiness(checks=checks)


def _database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return Check("database", "down")
    return Check("database", "ok", 0.0)


def _redis() -> Check:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return Check("redis", "down")
    return Check("redis", "ok", 0.0)


def _venue(*, now: float, database_ok: bool) -> Check:
    try:
        version = default_gateway().version()
    except VenueError:
        return Check("venue", "down", _since_last_ok(now) if database_ok else None)
    if version != EXPECTED_VENUE_VERSION:
        return Check("venue", "refused", _since_last_ok(now) if database_ok else None)
    return Check("venue", "ok", 0.0)


def _clock() -> Check:
    """This host's clock against the venue's. ``unknown``: no trusted venue time, so copying waits;
    ``skewed``: copying corrects for it, but the host's clock (NTP) needs fixing — decisions
    read on the local clock (leases, deadlines, pages) drift from other hosts' (docs/reliability.md)."""
    limit = float(settings.VENUE_CLOCK_MAX_OFFSET_SECONDS)
    reading = default_gateway().clock.reading()
    if reading.offset_seconds is None:
        return Check("clock", "unknown", None, limit)
    state = "ok" if abs(reading.offset_seconds) <= limit else "skewed"
    return Check("clock", state, reading.age_seconds, limit, offset_seconds=reading.offset_seconds)


def _since_last_ok(now: float) -> float | None:
    row = VenueHealth.objects.filter(id=VenueHealth.SINGLETON_ID).first()
    return _age(now, row.last_ok_at) if row is not None else None


def _detection(*, now: float) -> list[Check]:
    """Freshness of each source in use: the Data API while anyone follows a leader, the chain
    while POLYGON_RPC_URL is set."""
    ages = detector_ages(now=now)
    checks = []
    if CopyRelationship.objects.filter(status=CopyRelationship.Status.ACTIVE).exists():
        checks.append(
            _age_check(f"detection:{DATA_API_DETECTOR}", ages.get(DATA_API_DETECTOR), data_api_stale_seconds())
        )
    if settings.POLYGON_RPC_URL:
        name = CHAIN_DETECTOR.format(chain=CHAIN)
        checks.append(_age_check(f"detection:{name}", ages.get(name), CHAIN_STALE_SECONDS))
    return checks


def _age_check(name: str, age: float | None, limit: float) -> Check:
    if age is None:
        return Check(name, "missing", None, limit)
    return Check(name, "ok" if age <= limit else "stale", age, limit)


def _switches(*, now: float) -> list[Check]:
    checks = []
    for name, switch in switch_states().items():
        age = _age(now, switch.changed_at)
        checks.append(Check(name, "engaged" if switch.engaged else "ok", age))
    order = {name: index for index, name in enumerate(TradingSwitch.Name.values)}
    return sorted(checks, key=lambda check: order[check.name])


def _breaker(*, now: float) -> Check:
    reading = breaker_reading()
    since = cache.get(OPEN_SINCE_KEY)
    age = max(now - float(since), 0.0) if reading.open and since is not None else None
    return Check("breaker", "open" if reading.open else "ok", age, float(reading.window_seconds))


def _age(now: float, moment: datetime | None) -> float | None:
    return None if moment is None else max(now - moment.timestamp(), 0.0)
