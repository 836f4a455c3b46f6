"""Platform switches (kill switch, pause copies, exits only): engage, release, and read.

``switch_state`` is the one function the execution gate and the staff console both read, so
what staff see is what the gate does. The kill switch is latched: it can be engaged by anyone
or anything (a command, a breaker), but only a named staff user can release it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from execution.models import TradingSwitch
from polyhunter.audit import Actor, actor_label, audit_record, snapshot


class SwitchError(Exception):
    pass


@dataclass(frozen=True)
class SwitchState:
    name: str
    engaged: bool
    reason: str
    changed_by: str
    changed_at: datetime | None


def switch_state(name: str) -> SwitchState:
    row = TradingSwitch.objects.filter(name=name).first()
    if row is None:
        return SwitchState(name=name, engaged=False, reason="", changed_by="", changed_at=None)
    return SwitchState(
        name=name, engaged=row.engaged, reason=row.reason, changed_by=row.changed_by_label, changed_at=row.changed_at
    )


def engaged_switches() -> frozenset[str]:
    """Names of the switches engaged right now (one query): what the execution gate obeys.

    Read for every batch, so a plain SELECT like ``kill_switch_engaged`` (the ORM's query
    building cost more than the round trip, docs/performance.md)."""
    table = connection.ops.quote_name(TradingSwitch._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {table} WHERE engaged")  # noqa: S608  (identifier from the model)
        return frozenset(name for (name,) in cursor.fetchall())


def kill_switch_engaged() -> bool:
    """The final gate, read right before any order is sent (before every POST, so it is a plain
    indexed lookup: the ORM's exists() cost several times the round trip itself)."""
    table = connection.ops.quote_name(TradingSwitch._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE name = %s AND engaged LIMIT 1",  # noqa: S608  (identifier from the model)
            [TradingSwitch.Name.KILL_SWITCH.value],
        )
        return cursor.fetchone() is not None


def switch_states() -> dict[str, SwitchState]:
    return {name: switch_state(name) for name in TradingSwitch.Name.values}


def switch_set(*, name: str, engaged: bool, actor: Actor, reason: str) -> SwitchState:
    if name not in TradingSwitch.Name.values:
        raise SwitchError(f"unknown switch {name!r}")
    if not reason.strip():
        raise SwitchError("a reason is required to change a switch")
    if name == TradingSwitch.Name.KILL_SWITCH and not engaged and not _is_named_staff(actor):
        raise SwitchError("the kill switch is latched: only a named staff user can release it")
    with transaction.atomic():
        row, _ = TradingSwitch.objects.select_for_update().get_or_create(name=name)
        before = snapshot(row, ["engaged", "reason", "changed_by_label"])
        row.engaged = engaged
        row.reason = reason.strip()
        row.changed_at = timezone.now()
        row.changed_by = actor if _is_user(actor) else None  # type: ignore[assignment]
        row.changed_by_label = actor_label(actor)
        row.save()
        audit_record(
            actor=actor,
            action=f"switch.{name}.{'engage' if engaged else 'release'}",
            target=row,
            reason=row.reason,
            before=before,
            after=snapshot(row, ["engaged", "reason", "changed_by_label"]),
        )
    return switch_state(name)


def _is_user(actor: Actor) -> bool:
    return actor is not None and not isinstance(actor, str) and actor.is_authenticated


def _is_named_staff(actor: Actor) -> bool:
    return _is_user(actor) and bool(getattr(actor, "is_staff", False))
