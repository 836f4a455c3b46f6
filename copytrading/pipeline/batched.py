"""Fenced writes for a batch in one UPDATE, each row with its own values.

``leases.write_fenced`` gives many rows the *same* values. A batch that signs or records many
orders gives each row its own (its signed payload and hash, its venue answer), which used to be
one UPDATE per row. ``write_fenced_each`` sends a single statement::

    UPDATE copytrade SET order_hash = CASE WHEN id = 1 THEN '0x…' WHEN id = 2 THEN '0x…' ELSE order_hash END, …
    WHERE (id = 1 AND lease_version = 7) OR (id = 2 AND lease_version = 3) …

The WHERE clause is exactly ``leases.held``: a row this worker no longer holds is not written,
as with one UPDATE per row. ``held_ids`` tells which rows were (one more SELECT, only when the
UPDATE changed fewer rows than it named).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Case, F, Field, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from copytrading.models import CopyTrade
from copytrading.pipeline.leases import held, write_fenced


def write_fenced_each(rows: Sequence[CopyTrade], values: Mapping[int, Mapping[str, Any]]) -> int:
    """One UPDATE giving each row ``values[row.id]``; fields a row does not name keep their value.

    Returns how many of the rows were still held at their lease version (and were written).
    """
    if not rows:
        return 0
    if len(rows) == 1:
        return write_fenced(list(rows), **values[rows[0].id])
    names = sorted({name for row in rows for name in values[row.id]})
    updates: dict[str, Any] = {}
    for name in names:
        field = CopyTrade._meta.get_field(name)
        assert isinstance(field, Field)
        given = [(row.id, values[row.id][name]) for row in rows if name in values[row.id]]
        first = given[0][1]
        if len(given) == len(rows) and all(_same(value, first) for _, value in given):
            updates[name] = first
            continue
        case = Case(
            *[When(id=row_id, then=_expression(value, field)) for row_id, value in given],
            default=F(name),
            output_field=field,
        )
        # PostgreSQL types a CASE of parameters as text; cast it back, as QuerySet.bulk_update does.
        updates[name] = Cast(case, output_field=field) if connection.features.requires_casted_case_in_updates else case
    updates.setdefault("updated_at", timezone.now())
    return CopyTrade.objects.filter(held(rows)).update(**updates)


def held_ids(rows: Sequence[CopyTrade], *, status: str) -> set[int]:
    """Ids of the rows still held at their lease version and now in ``status``."""
    return set(CopyTrade.objects.filter(held(rows), status=status).values_list("id", flat=True))


def _same(value: Any, first: Any) -> bool:
    if hasattr(value, "resolve_expression") or hasattr(first, "resolve_expression"):
        return False
    return type(value) is type(first) and bool(value == first)


def _expression(value: Any, field: Any) -> Any:
    return value if hasattr(value, "resolve_expression") else Value(value, output_field=field)
