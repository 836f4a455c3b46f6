"""The audit trail: every human change to money-affecting state is recorded here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from polyhunter.models import AuditEvent

Actor = AbstractBaseUser | AnonymousUser | str | None


def actor_label(actor: Actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    if not actor.is_authenticated:
        return "anonymous"
    return actor.get_username()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    # Typed loosely on purpose: polyhunter sits below accounts and never imports its User.
    user = cast(Any, actor) if isinstance(actor, AbstractBaseUser) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=actor_label(actor),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        reason=reason,
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
    )


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The named fields of a row, JSON-ready, for an audit before/after."""
    return {name: _jsonable(getattr(instance, name)) for name in fields}


def audited_save(
    *, actor: Actor, instance: models.Model, changed_fields: list[str], action: str, reason: str = ""
) -> None:
    """Save a row edited by a human and record exactly what changed, in one transaction."""
    from django.db import transaction

    model = type(instance)
    fields = [f for f in changed_fields if hasattr(instance, f)]
    with transaction.atomic():
        before = snapshot(model._default_manager.get(pk=instance.pk), fields) if instance.pk else {}
        instance.save()
        audit_record(
            actor=actor,
            action=action,
            target=instance,
            reason=reason,
            before=before,
            after=snapshot(instance, fields),
        )
