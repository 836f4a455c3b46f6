"""The recovery lane: orders whose outcome we do not know, and orders the venue refused for now.

SIGNED / UNKNOWN / DELAYED / LIVE rows, on their deployment's ``<key>.reconcile`` queue — ahead
of fill confirmations, which have a queue of their own (``settle.py``). Each run takes a disjoint
batch of due rows (``due.take_due``); a full batch first sends a continuation, so a backlog is
worked by as many workers as are free.

- Refused for now (429, 425, 503 before commit, a request that never left — reason
  ``retry_later:*``): nothing was placed, so the SAME stored bytes are POSTed again once the
  backoff has passed, without a lookup. Never a new signature.
- Anything else (a lost or unreadable answer, a worker that died after signing): looked up by
  its order hash. Found: the venue's truth is recorded. Not found twice (spaced, so a lagging read
  side cannot fool us) and the leader's signal still fresh: the same bytes are POSTed again.
  Not found and too old: EXPIRED. An unknown outcome is never retried blindly.

``outcome_unknown_at`` is stamped when a row enters recovery (by the answer that put it there, or
here for a signed row whose worker never recorded an answer) and ``outcome_resolved_at`` when its
truth is recorded or it expires. ``submit_count`` is incremented before each resend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone

from copytrading.freshness import signal_age
from copytrading.metrics import reconciler_decided
from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.due import take_due
from copytrading.pipeline.fleet import operator_of
from copytrading.pipeline.leases import finish, submit_lease, write_fenced
from copytrading.pipeline.submit import post_and_record
from copytrading.reasons import Reason
from execution.models import GuardrailSettings
from execution.switches import kill_switch_engaged
from execution.venue.errors import CorruptPayload, VenueError
from execution.venue.gateway import venue_clock
from execution.venue.lookup import VenueOrder
from execution.venue.payload import SignedOrderPayload
from execution.venue.services import order_lookup

log = logging.getLogger(__name__)

NOT_FOUND_LIMIT = 2
RECHECK = timedelta(seconds=2)
# Rows per run: a lookup each (a few ms), so a run stays short and a backlog spreads over workers.
BATCH = 50
AWAITING = sorted(CopyTrade.AWAITING_VENUE)
_IN_RECOVERY = (CopyTrade.Status.SIGNED, CopyTrade.Status.UNKNOWN)


def recover_due(
    *,
    deployment: Deployment,
    now: datetime | None = None,
    limit: int = BATCH,
    more: Callable[[], None] | None = None,
) -> int:
    """Take a batch of this deployment's due recovery rows and resolve them; returns how many.

    A full batch calls ``more`` first (the actor sends a continuation), so another worker takes the
    next batch while this one works."""
    now = now or timezone.now()
    rows = take_due(statuses=AWAITING, now=now, limit=limit, deployment=deployment, due_by=now)
    if len(rows) == limit and more is not None:
        more()
    recover_rows(rows, now=now)
    return len(rows)


def recover_ids(*, deployment: Deployment, ids: Sequence[int], now: datetime | None = None) -> int:
    """A hand-back: these rows, if they are due and no other worker holds them."""
    now = now or timezone.now()
    rows = take_due(statuses=AWAITING, now=now, limit=len(ids), deployment=deployment, due_by=now, ids=ids)
    recover_rows(rows, now=now)
    return len(rows)


def recover_rows(rows: list[CopyTrade], *, now: datetime) -> None:
    """Resolve leased rows one by one; a failing row is pushed back, never stops the others."""
    for row in rows:
        if row.status in _IN_RECOVERY and row.outcome_unknown_at is None:
            row.outcome_unknown_at = now  # signed, and its worker never recorded an answer
        try:
            _recover_one(row, now=now)
        except VenueError as exc:
            reconciler_decision(
                row, "deferred", f"venue fault ({exc.reason}); asked again in 4 s", level=logging.WARNING
            )
            _later(row, now=now, after=RECHECK * 2)
        except Exception:
            # A poison row must not stop the others: push it back a minute, log it.
            reconciler_decided("error")
            log.exception("copy %s: recovery failed; looked at again in a minute", row.code)
            _later(row, now=now, after=timedelta(minutes=1))


def _marks(row: CopyTrade) -> dict[str, Any]:
    return {"outcome_unknown_at": row.outcome_unknown_at} if row.outcome_unknown_at is not None else {}


def _resolved(row: CopyTrade, now: datetime) -> dict[str, Any]:
    if row.outcome_unknown_at is None or row.outcome_resolved_at is not None:
        return {}
    return {**_marks(row), "outcome_resolved_at": now}


def _later(row: CopyTrade, *, now: datetime, after: timedelta, **values: Any) -> None:
    write_fenced([row], next_check_at=now + after, lease_owner="", lease_until=None, **_marks(row), **values)


def _recover_one(row: CopyTrade, *, now: datetime) -> None:
    if row.status == CopyTrade.Status.SIGNED and row.reason_code.startswith("retry_later:"):
        # The venue refused it before committing: nothing to look up, the same bytes go again.
        _resend_if_fresh(row, count=row.not_found_count, now=now, refused=True)
        return
    assert row.order_hash is not None
    lookup = order_lookup(account=row.account, order_hash=row.order_hash, operator=operator_of(row))
    if lookup.kind == "found" and lookup.order is not None:
        _record_found(row, lookup.order, now=now)
    elif lookup.kind == "not_found":
        _not_found(row, now=now)
    else:
        reconciler_decision(
            row, "lookup_failed", f"venue fault on lookup ({lookup.reason}); asked again in 2 s", level=logging.WARNING
        )
        write_fenced(
            [row],
            next_check_at=now + RECHECK,
            lease_owner="",
            lease_until=None,
            reason_detail=f"lookup: {lookup.reason} {lookup.detail}"[:300],
            **_marks(row),
        )


def _record_found(row: CopyTrade, order: VenueOrder, *, now: datetime) -> None:
    release: dict[str, Any] = {
        "lease_owner": "",
        "lease_until": None,
        "venue_status": order.status[:40],
        "recorded_at": now,
        "not_found_count": 0,
        **_resolved(row, now),
    }
    if order.size_matched > 0 and (order.is_dead or order.status == "MATCHED"):
        price = order.price or Decimal(row.planned_price or 0)
        usdc = (order.size_matched * price).quantize(Decimal("0.000001"))
        reconciler_decision(row, "filled", f"the venue shows {order.size_matched} shares matched ({order.status})")
        write_fenced(
            [row],
            **release,
            status=CopyTrade.Status.FILLED,
            size_matched=order.size_matched,
            fill_usdc=usdc,
            fill_price=price,
            filled_at=now,
            next_check_at=now,
            trade_ids=list(order.associate_trades),
            reason_code="",
            reason_detail="",
        )
    elif order.is_open:
        status = CopyTrade.Status.DELAYED if order.status == "DELAYED" else CopyTrade.Status.LIVE
        reconciler_decision(row, "open", f"the venue shows the order {order.status}")
        write_fenced([row], **release, status=status, next_check_at=now + RECHECK)
    elif order.status == "CANCELED_MARKET_RESOLVED":
        reconciler_decision(row, "canceled", "the market resolved")
        write_fenced([row], **release)
        finish([row], status=CopyTrade.Status.CANCELED, reason=Reason.MARKET_RESOLVED)
    elif order.status == "INVALID":
        reconciler_decision(row, "rejected", "the venue shows the order INVALID")
        write_fenced([row], **release)
        finish([row], status=CopyTrade.Status.REJECTED, reason=Reason.VENUE_REJECTED, detail="venue: INVALID")
    else:
        reconciler_decision(row, "killed", f"the venue shows the order {order.status} with nothing matched")
        write_fenced([row], **release)
        finish([row], status=CopyTrade.Status.REJECTED, reason=Reason.KILLED, detail=f"venue: {order.status}")


def _not_found(row: CopyTrade, *, now: datetime) -> None:
    count = row.not_found_count + 1
    if count < NOT_FOUND_LIMIT:
        reconciler_decision(row, "not_found_again", f"not at the venue (lookup {count}); looked up again in 2 s")
        _later(row, now=now, after=RECHECK, not_found_count=count)
        return
    _resend_if_fresh(row, count=count, now=now, refused=False)


def _resend_if_fresh(row: CopyTrade, *, count: int, now: datetime, refused: bool) -> None:
    max_age = timedelta(seconds=GuardrailSettings.current().max_leader_trade_age_seconds)
    # On the venue's clock (S37); with none trusted this raises a VenueError: deferred, like a venue fault.
    if signal_age(row, now=now, offset=venue_clock().offset()) > max_age:
        why = "refused for now by the venue" if refused else f"not at the venue after {count} lookups"
        reconciler_decision(row, "expired", f"{why} and too old to resend: expired")
        finish(
            [row],
            status=CopyTrade.Status.EXPIRED,
            reason=Reason.NOT_FOUND,
            detail=f"{why} and the leader trade is too old to resend",
            **_resolved(row, now),
        )
        return
    if kill_switch_engaged():
        reconciler_decision(row, "held_by_kill_switch", "not placed; the kill switch holds the resend")
        _later(row, now=now, after=RECHECK, not_found_count=count)
        return
    if row.account.paused:
        # Not at the venue, so never placed; a paused account sends nothing more (S40: an API
        # key or session signer the venue refused would only be refused again).
        reconciler_decision(row, "blocked", "not placed; the account is paused, so nothing is sent again")
        finish(
            [row],
            status=CopyTrade.Status.BLOCKED,
            reason=Reason.ACCOUNT_PAUSED,
            detail="never placed; the account was paused before it could be sent again",
            **_resolved(row, now),
        )
        return
    reconciler_decision(
        row, "resent", f"{'refused for now' if refused else 'not at the venue'}: the same signed bytes are sent again"
    )
    _resend(row, count=count, now=now)


def _resend(row: CopyTrade, *, count: int, now: datetime) -> None:
    try:
        payload = SignedOrderPayload.from_json(row.signed_order or {})
    except CorruptPayload as exc:
        reconciler_decision(
            row, "expired", f"the stored order is unusable ({exc.reason}): expired", level=logging.WARNING
        )
        finish(
            [row],
            status=CopyTrade.Status.EXPIRED,
            reason=Reason.NOT_FOUND,
            detail=f"stored order: {exc.detail}",
            **_resolved(row, now),
        )
        return
    # Count the attempt before it leaves, so "submit_count = 0" always means never sent; and clear
    # the refusal: if this POST's answer is never recorded, its outcome is unknown and the next
    # run looks the order up instead of resending blindly.
    if not write_fenced(
        [row],
        not_found_count=count,
        submit_count=F("submit_count") + 1,
        submitted_at=now,
        reason_code="",
        lease_until=now + submit_lease(),
        **_marks(row),
    ):
        return
    post_and_record(row=row, payload=payload)


def reconciler_decision(row: CopyTrade, decision: str, words: str, *, level: int = logging.INFO) -> None:
    """One line per reconciler decision, with the copy's public id, and its counter."""
    reconciler_decided(decision)
    log.log(level, "copy %s: reconciler: %s", row.code, words)
