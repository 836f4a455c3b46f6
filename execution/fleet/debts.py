"""Follower debts of fleet mode: written when a reimbursement fails, exactly once per copy
(``DebtRecord.copy_trade_id`` is unique), collected by the recovery actor or forgiven by staff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import TradingAccount, User
from execution.fleet.models import DebtRecord
from polyhunter.audit import Actor, audit_record, snapshot

# Recovery backoff: 1, 2, 4 … minutes, at most six hours between tries.
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
STATE_FIELDS = ["state", "attempts", "next_try_at", "amount_usdc"]


def retry_after(attempts: int) -> timedelta:
    return min(FIRST_RETRY * int(2 ** min(attempts, 16)), MAX_RETRY)


def debts_open_total(*, account_id: int) -> Decimal:
    """What the account owes now (open debts), 0 when nothing."""
    total = DebtRecord.objects.filter(account_id=account_id, state=DebtRecord.State.OPEN).aggregate(
        total=Sum("amount_usdc")
    )["total"]
    return Decimal(total or 0)


def debt_record(
    *,
    account: TradingAccount,
    copy_trade_id: int,
    follower_address: str,
    operator_address: str,
    amount_usdc: Decimal,
    cause: str,
    detail: str,
    now: datetime | None = None,
) -> DebtRecord:
    """The copy's debt: created on its first failed reimbursement, the same row ever after
    (a retried settlement, a second worker, a replayed message never add a second)."""
    now = now or timezone.now()
    existing = DebtRecord.objects.filter(copy_trade_id=copy_trade_id).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return DebtRecord.objects.create(
                account=account,
                copy_trade_id=copy_trade_id,
                follower_address=follower_address,
                operator_address=operator_address,
                amount_usdc=amount_usdc,
                cause=cause,
                detail=detail[:300],
                next_try_at=now + retry_after(0),
            )
    except IntegrityError:  # another worker wrote it first: that one is the debt
        return DebtRecord.objects.get(copy_trade_id=copy_trade_id)


def debt_attempt_failed(*, debt_id: int, cause: str, detail: str, now: datetime | None = None) -> None:
    """One more failed collection: the cause as now seen, the next try backed off."""
    now = now or timezone.now()
    with transaction.atomic():
        debt = DebtRecord.objects.select_for_update().get(pk=debt_id)
        if debt.state != DebtRecord.State.OPEN:
            return
        debt.attempts += 1
        debt.cause, debt.detail = cause, detail[:300]
        debt.next_try_at = now + retry_after(debt.attempts)
        debt.save(update_fields=["attempts", "cause", "detail", "next_try_at", "updated_at"])


def debt_collected(*, debt_id: int, now: datetime | None = None) -> bool:
    """Mark a debt paid (the chain says this copy id is settled); False when it was not open."""
    return bool(
        DebtRecord.objects.filter(pk=debt_id, state=DebtRecord.State.OPEN).update(
            state=DebtRecord.State.COLLECTED, resolved_at=now or timezone.now(), next_try_at=None
        )
    )


def debt_forgive(*, debt: DebtRecord, reason: str, actor: Actor) -> bool:
    """Staff: write the debt off (the float is lost to the platform), reason required, audited."""

    def forgive(row: DebtRecord) -> list[str]:
        row.state, row.resolved_at, row.next_try_at = DebtRecord.State.FORGIVEN, timezone.now(), None
        row.resolved_by = actor if isinstance(actor, User) else None
        return ["state", "resolved_at", "next_try_at", "resolved_by"]

    return _staff_change(debt=debt, reason=reason, actor=actor, action="fleet.debt_forgive", change=forgive)


def debt_retry_now(*, debt: DebtRecord, reason: str, actor: Actor) -> bool:
    """Staff: make an open debt due at once (the recovery actor collects it), audited."""

    def due_now(row: DebtRecord) -> list[str]:
        row.next_try_at = timezone.now()
        return ["next_try_at"]

    return _staff_change(debt=debt, reason=reason, actor=actor, action="fleet.debt_retry", change=due_now)


def _staff_change(
    *, debt: DebtRecord, reason: str, actor: Actor, action: str, change: Callable[[DebtRecord], list[str]]
) -> bool:
    """Apply ``change`` to an open debt, with its reason and before/after in the audit; False when
    the debt is no longer open (collected or forgiven meanwhile)."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required")
    with transaction.atomic():
        row = DebtRecord.objects.select_for_update().get(pk=debt.pk)
        if row.state != DebtRecord.State.OPEN:
            return False
        before = snapshot(row, STATE_FIELDS)
        row.save(update_fields=[*change(row), "updated_at"])
        after = snapshot(row, STATE_FIELDS)
        audit_record(actor=actor, action=action, target=row, reason=reason, before=before, after=after)
    return True


def debts_due(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Ids of open debts whose next try has come (the recovery actor's batch)."""
    return list(
        DebtRecord.objects.filter(state=DebtRecord.State.OPEN, next_try_at__lte=now or timezone.now())
        .order_by("next_try_at")
        .values_list("id", flat=True)[:limit]
    )
