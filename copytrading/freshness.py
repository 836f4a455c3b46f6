"""How old a copy's signal is, each age read on the clock that stamped its start.

A leader trade's ``occurred_at`` is the venue's (Data API) or the chain's (block timestamp): its
age is venue time minus it, venue time being this host's clock plus the measured offset
(``execution.venue.clock``). A protective exit's ``signal_at`` is stamped by our own worker: its
age is read on the same local clock. Mixing the two is what S37 found: a worker two minutes fast
skipped every fresh trade as stale, two minutes slow copied a trade 150 s old as if 30 s old.

With no trusted venue time, detection and fan-out leave the verdict to execute (``offset``
returns None and they judge nothing stale); execute and the reconciler wait for the venue's clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from copytrading.models import CopyTrade
from execution.venue.clock import VenueClockUnknown
from execution.venue.gateway import venue_clock

log = logging.getLogger(__name__)


def venue_offset_or_none(*, where: str) -> timedelta | None:
    """Venue time minus local time, or None (logged) when there is no trusted venue time."""
    try:
        return venue_clock().offset()
    except VenueClockUnknown as exc:
        log.warning("%s: leader trade ages not judged here, no trusted venue time: %s", where, exc.detail)
        return None


def leader_trade_age(*, occurred_at: datetime, now: datetime, offset: timedelta) -> timedelta:
    """Age of a leader trade at the local instant ``now``, on the venue's clock."""
    return now + offset - occurred_at


def signal_age(row: CopyTrade, *, now: datetime, offset: timedelta) -> timedelta:
    """Age of a copy's signal at the local instant ``now``: a leader trade's on the venue's clock,
    a protective trigger's (stamped locally) on the local clock."""
    if row.leader_trade is not None:
        return leader_trade_age(occurred_at=row.leader_trade.occurred_at, now=now, offset=offset)
    return now - row.signal_time
