"""Human controls over who is copied: pause and resume leaders, accounts and follows.

The execution gate reads these flags from the rows at every order, so a pause takes effect for
the next copy; each change is audited with who, why, before and after.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.models import CopyRelationship, WatchedWallet
from polyhunter.audit import Actor, audit_record, snapshot


class ControlError(Exception):
    pass


def _require_reason(reason: str) -> str:
    if not reason.strip():
        raise ControlError("a reason is required")
    return reason.strip()[:200]


def leader_set_paused(*, leader: WatchedWallet, paused: bool, actor: Actor, reason: str) -> WatchedWallet:
    reason = _require_reason(reason)
    with transaction.atomic():
        before = snapshot(leader, ["paused", "paused_reason"])
        leader.paused = paused
        leader.paused_reason = reason if paused else ""
        leader.paused_at = timezone.now() if paused else None
        leader.save(update_fields=["paused", "paused_reason", "paused_at"])
        audit_record(
            actor=actor,
            action=f"leader.{'pause' if paused else 'resume'}",
            target=leader,
            reason=reason,
            before=before,
            after=snapshot(leader, ["paused", "paused_reason"]),
        )
    return leader


def account_set_paused(*, account: TradingAccount, paused: bool, actor: Actor, reason: str) -> TradingAccount:
    reason = _require_reason(reason)
    with transaction.atomic():
        before = snapshot(account, ["paused", "paused_reason"])
        account.paused = paused
        account.paused_reason = reason if paused else ""
        account.paused_at = timezone.now() if paused else None
        account.save(update_fields=["paused", "paused_reason", "paused_at", "updated_at"])
        audit_record(
            actor=actor,
            action=f"account.{'pause' if paused else 'resume'}",
            target=account,
            reason=reason,
            before=before,
            after=snapshot(account, ["paused", "paused_reason"]),
        )
    return account


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
