"""The database is the system of record; the broker only notifies. The sweeper makes sure nothing
waits forever because a message was lost (Redis restart, crash between commit and enqueue) or a
worker died holding a lease (invariant I3): it re-sends work, and expires what is too old.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from copytrading.fanout import RESEND_AFTER, dispatch_execute, fanout_enqueue, routed_to
from copytrading.metrics import copies_counted
from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade
from copytrading.pipeline.leases import MAX_ATTEMPTS
from copytrading.reasons import Reason
from polyhunter.audit import Actor, actor_label, audit_record

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
FANOUT_GRACE = timedelta(seconds=5)
BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    resent: int
    expired: int
    poisoned: int
    fanouts: int


def sweep_deployment(*, deployment: Deployment, now: datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    expired = _expire_stale(deployment=deployment, now=now)
    poisoned = _expire_poison(deployment=deployment, now=now)
    resent = _resend(deployment=deployment, now=now)
    fanouts = _refanout(deployment=deployment, now=now)
    return SweepResult(resent=resent, expired=expired, poisoned=poisoned, fanouts=fanouts)


def _expire_stale(*, deployment: Deployment, now: datetime) -> int:
    """PENDING/CLAIMED rows older than 10 minutes never get an order: they expire with a reason."""
    stale = Q(status=CopyTrade.Status.PENDING) | Q(status=CopyTrade.Status.CLAIMED, lease_until__lt=now)
    rows = CopyTrade.objects.filter(stale, deployment=deployment, created_at__lt=now - STALE_AFTER)
    return _expire(rows, detail="not processed within 10 minutes", now=now)


def _expire_poison(*, deployment: Deployment, now: datetime) -> int:
    """A row claimed MAX_ATTEMPTS times without finishing keeps killing its worker: stop it."""
    rows = CopyTrade.objects.filter(
        deployment=deployment, status=CopyTrade.Status.CLAIMED, lease_until__lt=now, attempts__gte=MAX_ATTEMPTS
    )
    return _expire(rows, detail=f"abandoned after {MAX_ATTEMPTS} attempts", now=now)


def _expire(rows: QuerySet[CopyTrade], *, detail: str, now: datetime) -> int:
    """Expire a batch of these rows, locked first so the ones written are exactly the ones logged."""
    with transaction.atomic():
        found = list(rows.select_for_update(skip_locked=True).order_by("id").values_list("id", "code")[:BATCH])
        if not found:
            return 0
        count = CopyTrade.objects.filter(id__in=[row_id for row_id, _ in found]).update(
            status=CopyTrade.Status.EXPIRED,
            reason_code=Reason.EXPIRED_PENDING,
            reason_detail=detail,
            lease_owner="",
            lease_until=None,
            finished_at=now,
            updated_at=now,
        )
        copies_counted(status=CopyTrade.Status.EXPIRED, reason=Reason.EXPIRED_PENDING, count=count)
    for _, code in found:
        log.info("copy %s expired: %s", code, detail)
    return count


def _resend(*, deployment: Deployment, now: datetime) -> int:
    """Re-send execute messages for rows waiting too long (a duplicate message is a no-op)."""
    waiting = Q(status=CopyTrade.Status.PENDING, next_check_at__lte=now) | Q(
        status=CopyTrade.Status.CLAIMED, lease_until__lt=now
    )
    rows = list(
        CopyTrade.objects.filter(waiting, deployment=deployment)
        .order_by("created_at")
        .values_list("id", "lane")[:BATCH]
    )
    if rows:
        CopyTrade.objects.filter(id__in=[i for i, _ in rows], status=CopyTrade.Status.PENDING).update(
            next_check_at=now + RESEND_AFTER
        )
        dispatch_execute(deployment_key=deployment.key, rows=rows)
    return len(rows)


def _refanout(*, deployment: Deployment, now: datetime) -> int:
    """Leader trades still NEW after the grace period: their fan-out message was lost."""
    follows = CopyRelationship.objects.filter(routed_to(deployment)).exclude(status=CopyRelationship.Status.STOPPED)
    ids = list(
        LeaderTrade.objects.filter(
            status=LeaderTrade.Status.NEW,
            detected_at__lt=now - FANOUT_GRACE,
            leader__followers__in=follows,
        )
        .values_list("id", flat=True)
        .distinct()[:BATCH]
    )
    fanout_enqueue(leader_trade_ids=ids)
    return len(ids)


def copytrades_expire(*, ids: list[int], actor: Actor, reason: str) -> int:
    """Staff: expire rows that can never have reached the venue. Rows that may have (sent, or
    with a worker holding them) are left alone: reconcile those instead. Returns how many expired.
    """
    now = timezone.now()
    never_sent = Q(status__in=[CopyTrade.Status.PENDING, CopyTrade.Status.CLAIMED]) | Q(
        status=CopyTrade.Status.SIGNED, submit_count=0
    )
    unheld = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    candidates = list(CopyTrade.objects.filter(never_sent, unheld, id__in=ids).values_list("id", flat=True))
    count = CopyTrade.objects.filter(never_sent, unheld, id__in=candidates).update(
        status=CopyTrade.Status.EXPIRED,
        reason_code=Reason.EXPIRED_PENDING,
        reason_detail=f"expired by staff: {reason}"[:300],
        lease_owner="",
        lease_until=None,
        finished_at=now,
        updated_at=now,
    )
    expired = candidates[:count] if count == len(candidates) else candidates
    copies_counted(status=CopyTrade.Status.EXPIRED, reason=Reason.EXPIRED_PENDING, count=count)
    for code in CopyTrade.objects.filter(id__in=expired, status=CopyTrade.Status.EXPIRED).values_list(
        "code", flat=True
    ):
        log.info("copy %s expired by %s: %s", code, actor_label(actor), reason)
    audit_record(
        actor=actor,
        action="copytrade.expire",
        reason=reason,
        before={"ids": ids},
        after={"expired": expired},
    )
    return count
