"""Find what a follower should hear about, from rows the pipeline and staff already write.

Collecting re-reads a recent window each time and relies on each notification's unique
``dedupe_key``, so running it twice (or two schedulers at once) adds nothing: no cursor to lose.

- a copy rejected by the venue or expired: CopyTrade rows that ended so (partial index);
- a follow held: paused by staff (audit log: a staff hold on the follow, or its leader or account
  paused by someone other than its owner), or its copies blocked by a guardrail (one per follow, reason and day);
- custody needing action: the venue refused the wallet's balance or allowance, refused its API
  key (the account was paused for it), or custody is incomplete (one per account, cause and day).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from copytrading.markets import market_names
from copytrading.models import CopyRelationship, CopyTrade, Notification
from copytrading.outcomes import follower_words
from copytrading.reasons import Reason
from polyhunter.models import AuditEvent

WINDOW = timedelta(minutes=15)
K = Notification.Kind
S = CopyTrade.Status
CUSTODY_REFUSALS = {"not_enough_balance": "balance", "unauthorized": "api-key"}
CUSTODY_REASONS = {Reason.CUSTODY_NOT_READY}


def notifications_collect(*, now: datetime | None = None, window: timedelta = WINDOW) -> int:
    """Store the notifications of the last ``window``; returns how many were new."""
    now = now or timezone.now()
    since = now - window
    found: dict[str, Notification] = {}
    for note in [*_copies(since), *_staff_pauses(since)]:
        found.setdefault(note.dedupe_key, note)
    known = set(Notification.objects.filter(dedupe_key__in=list(found)).values_list("dedupe_key", flat=True))
    new = [note for key, note in found.items() if key not in known]
    Notification.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _copies(since: datetime) -> Iterable[Notification]:
    rows = list(
        CopyTrade.objects.filter(status__in=[S.REJECTED, S.EXPIRED, S.BLOCKED], finished_at__gte=since)
        .select_related("relationship__leader", "account")
        .order_by("finished_at")[:5000]
    )
    names = market_names({row.token_id for row in rows}, ask_venue=False)
    for row in rows:
        user_id, leader, day = row.account.user_id, row.relationship.leader, f"{row.finished_at:%Y-%m-%d}"
        market = names[row.token_id]
        refusal = CUSTODY_REFUSALS.get(row.venue_status) if row.status == S.REJECTED else None
        if (row.status == S.BLOCKED and row.reason_code in CUSTODY_REASONS) or refusal:
            cause = refusal or row.reason_code
            yield _note(
                user_id,
                K.CUSTODY,
                f"custody:{row.account_id}:{cause}:{day}",
                f"Your account {row.account.label} needs attention: {follower_words(row)}.",
                row.finished_at,
            )
        if row.status == S.BLOCKED:
            if row.reason_code not in CUSTODY_REASONS:
                yield _note(
                    user_id,
                    K.FOLLOW_HELD,
                    f"held:{row.relationship_id}:{row.reason_code}:{day}",
                    f"Copies of {leader} are held back: {_reason(row)}.",
                    row.finished_at,
                )
            continue
        yield _note(
            user_id,
            K.COPY_FAILED,
            f"copy:{row.id}",
            f"A copy of {leader}'s {row.side.lower()} of {market} was not placed: {follower_words(row)}.",
            row.finished_at,
        )


# Staff holds on a follow (copytrading.controls.relationship_set_hold): only staff set them, so
# the owner's own pause or stop (``follow.paused`` / ``follow.stopped``) never appears here.
_FOLLOW_HOLDS = {"follow.hold_paused": "paused", "follow.hold_stopped": "stopped"}


def _staff_pauses(since: datetime) -> Iterable[Notification]:
    events = AuditEvent.objects.filter(
        Q(action__in=[*_FOLLOW_HOLDS, "leader.pause", "account.pause"]), created_at__gte=since
    ).order_by("created_at")
    for event in events:
        why = f" ({event.reason})" if event.reason else ""
        if event.action.startswith("follow."):
            follow = CopyRelationship.objects.filter(id=event.target_id).select_related("account", "leader").first()
            if follow is None:
                continue
            verb = _FOLLOW_HOLDS[event.action]
            text = f"Staff {verb} your follow of {follow.leader}{why}."
            yield _note(follow.account.user_id, K.FOLLOW_HELD, f"audit:{event.id}", text, event.created_at)
        elif event.action == "leader.pause":
            follows = CopyRelationship.objects.filter(leader_id=int(event.target_id)).exclude(
                status=CopyRelationship.Status.STOPPED
            )
            for follow in follows.select_related("account", "leader"):
                text = f"Staff paused copying of {follow.leader} for everyone{why}."
                key = f"audit:{event.id}:{follow.account.user_id}"
                yield _note(follow.account.user_id, K.FOLLOW_HELD, key, text, event.created_at)
        else:
            yield from _account_paused(event, why)


def _account_paused(event: AuditEvent, why: str) -> Iterable[Notification]:
    from accounts.models import TradingAccount

    account = TradingAccount.objects.filter(id=event.target_id).first()
    if account is None or event.actor_id == account.user_id:
        return
    if event.actor_label.startswith("system:venue"):
        text = (
            f"The venue refused the API key of your account {account.label}; it is paused until you set custody again."
        )
        yield _note(account.user_id, K.CUSTODY, f"audit:{event.id}", text, event.created_at)
    else:
        text = f"Staff paused your account {account.label}{why}: nothing is copied for it until they resume it."
        yield _note(account.user_id, K.FOLLOW_HELD, f"audit:{event.id}", text, event.created_at)


def _reason(row: CopyTrade) -> str:
    return Reason(row.reason_code).label if row.reason_code in Reason.values else "a platform limit"


def _note(user_id: int, kind: str, key: str, text: str, at: datetime | None) -> Notification:
    return Notification(
        user_id=user_id, kind=kind, dedupe_key=key[:120], text=text[:400], created_at=at or timezone.now()
    )
