"""Human controls over who is copied: pause and resume leaders, accounts and follows.

The execution gate reads these flags from the rows at every order, so a pause takes effect for
the next copy; each change is audited with who, why, before and after.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.models import CopyRelationship, WatchedWallet
from execution.session_custody import session_check, session_mark_lost
from polyhunter.audit import Actor, audit_record, snapshot

SESSION_LOST_PAUSE = (
    "your deposit wallet no longer authorises PolyHunter's session signer (revoked or expired): "
    "authorise it again on the custody page"
)


class ControlError(Exception):
    pass


def _require_reason(reason: str) -> str:
    if not reason.strip():
        raise ControlError("a reason is required")
    return reason.strip()[:200]


def leader_set_paused(*, leader: WatchedWallet, paused: bool, actor: Actor, reason: str) -> WatchedWallet:
    _set_paused(leader, paused=paused, actor=actor, reason=reason, action="leader")
    return leader


def account_set_paused(*, account: TradingAccount, paused: bool, actor: Actor, reason: str) -> TradingAccount:
    _set_paused(account, paused=paused, actor=actor, reason=reason, action="account")
    return account


def account_session_lost(*, account: TradingAccount, detail: str) -> TradingAccount:
    """The venue refused the session signer of a session account: record it and pause the
    account with a reason its owner can act on (re-authorise on the custody page)."""
    first = session_mark_lost(account=account, detail=detail)
    if first or not account.paused:
        account_set_paused(account=account, paused=True, actor="system:venue", reason=SESSION_LOST_PAUSE)
    return account


def account_session_check(*, account: TradingAccount) -> str:
    """The periodic re-read of a session account's authorisation; a grant found gone pauses the
    account now, before any copy meets the venue's refusal. Returns the state afterwards."""
    state = session_check(account=account)
    if state == "revoked" and not account.paused:
        account_set_paused(account=account, paused=True, actor="system:venue", reason=SESSION_LOST_PAUSE)
    return state


def account_session_restored(*, account: TradingAccount, actor: Actor) -> TradingAccount:
    """The follower authorised the signer again and we verified it: lift our own pause (only ours)."""
    row = TradingAccount.objects.get(pk=account.pk)
    if row.paused and row.paused_reason == SESSION_LOST_PAUSE:
        account_set_paused(account=row, paused=False, actor=actor, reason="session signer authorised again")
    return row


def _set_paused(row: WatchedWallet | TradingAccount, *, paused: bool, actor: Actor, reason: str, action: str) -> None:
    reason = _require_reason(reason)
    with transaction.atomic():
        before = snapshot(row, ["paused", "paused_reason"])
        row.paused = paused
        row.paused_reason = reason if paused else ""
        row.paused_at = timezone.now() if paused else None
        fields = ["paused", "paused_reason", "paused_at"]
        row.save(update_fields=[*fields, "updated_at"] if isinstance(row, TradingAccount) else fields)
        audit_record(
            actor=actor,
            action=f"{action}.{'pause' if paused else 'resume'}",
            target=row,
            reason=reason,
            before=before,
            after=snapshot(row, ["paused", "paused_reason"]),
        )


def relationship_set_status(
    *, relationship: CopyRelationship, status: str, actor: Actor, reason: str
) -> CopyRelationship:
    if status not in CopyRelationship.Status.values:
        raise ControlError(f"unknown follow status {status!r}")
    reason = _require_reason(reason)
    with transaction.atomic():
        before = snapshot(relationship, ["status", "status_reason"])
        relationship.status = status
        relationship.status_reason = reason
        relationship.status_changed_at = timezone.now()
        relationship.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
        audit_record(
            actor=actor,
            action=f"follow.{status}",
            target=relationship,
            reason=reason,
            before=before,
            after=snapshot(relationship, ["status", "status_reason"]),
        )
    return relationship
