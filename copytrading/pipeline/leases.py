"""Leases on CopyTrade rows: claim with a conditional UPDATE, and fenced writes after it.

A claim moves PENDING rows (or CLAIMED rows whose lease ran out) to CLAIMED under a fresh
owner token and a bumped ``lease_version``; only rows the UPDATE actually changed are returned,
so a second delivery of the same message, or a second worker, gets nothing. Every later write
names the row *and* the lease version it holds: a worker that lost its lease (paused past the
TTL, or killed and replaced) writes nothing.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.loading import load_held


def lease_length() -> timedelta:
    """How long a claim holds a row before another worker (or the reconciler) may take it over:
    ``settings.COPY_LEASE_SECONDS`` (30 s), read at each claim so tests can shorten it."""
    return timedelta(seconds=settings.COPY_LEASE_SECONDS)


def submit_lease() -> timedelta:
    """How long a signed row stays leased while its order is being sent (renewed at half by a
    batch that takes longer): twice one POST's worst case (connect + read timeouts) plus 2 s. Past
    it the reconciler may take the row over — a worker killed between signing and sending leaves
    its row to be looked up and resent within seconds, not after the 30 s claim lease."""
    per_post = float(settings.VENUE_CONNECT_TIMEOUT) + float(settings.VENUE_READ_TIMEOUT)
    return min(lease_length(), timedelta(seconds=2 * per_post + 2))


# A row claimed this many times without finishing is poison (e.g. it kills its worker); the
# sweeper expires it instead of handing it out again (reliability S13).
MAX_ATTEMPTS = 5


def lease_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def claim(*, ids: Iterable[int], deployment: Deployment, now: datetime | None = None) -> list[CopyTrade]:
    """Claim the given rows for this worker; returns only the rows it now holds."""
    now = now or timezone.now()
    owner = lease_owner()
    ids = list(ids)
    claimable = Q(status=CopyTrade.Status.PENDING) | Q(status=CopyTrade.Status.CLAIMED, lease_until__lt=now)
    changed = CopyTrade.objects.filter(claimable, id__in=ids, deployment=deployment, attempts__lt=MAX_ATTEMPTS).update(
        status=CopyTrade.Status.CLAIMED,
        lease_owner=owner,
        lease_until=now + lease_length(),
        lease_version=F("lease_version") + 1,
        attempts=F("attempts") + 1,
        claimed_at=now,
        updated_at=now,
    )
    if not changed:
        return []
    # By primary key: lease_owner has no index, and only these rows can carry the fresh owner token.
    return load_held(ids=ids, owner=owner, status=CopyTrade.Status.CLAIMED)


def held(rows: Iterable[CopyTrade]) -> Q:
    """Match exactly these rows at the lease versions this worker holds."""
    conditions = [Q(id=row.id, lease_version=row.lease_version) for row in rows]
    return reduce(or_, conditions) if conditions else Q(pk__in=[])


def write_fenced(rows: list[CopyTrade], **values: Any) -> int:
    """One UPDATE for rows that all get the same values; returns how many were still held."""
    if not rows:
        return 0
    values.setdefault("updated_at", timezone.now())
    return CopyTrade.objects.filter(held(rows)).update(**values)


def finish(rows: list[CopyTrade], *, status: str, reason: str, detail: str = "", **values: Any) -> int:
    """End rows in a terminal state without an order (skipped/blocked/expired), lease released;
    ``values``: more columns to write with it."""
    now = timezone.now()
    return write_fenced(
        rows,
        status=status,
        reason_code=reason,
        reason_detail=detail[:300],
        lease_owner="",
        lease_until=None,
        finished_at=now,
        updated_at=now,
        **values,
    )


def release(rows: list[CopyTrade], *, after: timedelta, reason: str = "") -> int:
    """Give rows back to the queue untouched (a transient condition): PENDING again, lease
    released, picked up by the sweeper once ``after`` has passed.

    The claim is given back too: ``attempts`` counts claims that never finished (a worker that
    died holding the row), and a clean hand-back is not one. Counted, a row throttled by its
    signer's rate limit MAX_ATTEMPTS times became poison and was never claimed again (S8).
    """
    now = timezone.now()
    return write_fenced(
        rows,
        status=CopyTrade.Status.PENDING,
        attempts=F("attempts") - 1,
        lease_owner="",
        lease_until=None,
        next_check_at=now + after,
        reason_detail=reason[:300],
        updated_at=now,
    )
