"""Fenced writes for a batch in one UPDATE, each row with its own values.

``leases.write_fenced`` gives many rows the *same* values. A batch that signs or records many
orders gives each row its own (its signed payload and hash, its venue answer), which used to be
one UPDATE per row. ``write_fenced_each`` sends one statement per set of columns (one in the
usual case, where every row of the batch writes the same columns)::

    WITH v (id, lease_version, status, order_hash, …) AS (VALUES (1, 7, 'signed', '0x…', …), (2, 3, …))
    UPDATE copytrade SET status = v.status, order_hash = v.order_hash, …
    FROM v WHERE copytrade.id = v.id AND copytrade.lease_version = v.lease_version
    RETURNING copytrade.id

The join on (id, lease_version) is exactly ``leases.held``: a row this worker no longer holds is
not written, as with one fenced UPDATE per row, and RETURNING says which rows were written.
Plain SQL on purpose: building the same statement from ORM CASE expressions cost several
milliseconds of CPU per batch (docs/performance.md). PostgreSQL and SQLite (3.35+) both run it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field
from django.utils import timezone

from copytrading.models import CopyTrade


def write_fenced_each(rows: Sequence[CopyTrade], values: Mapping[int, Mapping[str, Any]]) -> set[int]:
    """Give each row ``values[row.id]`` (plain values, no expressions), only where the row is still
    held at its lease version; ``updated_at`` is set too. Returns the ids written."""
    groups: dict[tuple[str, ...], list[CopyTrade]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted({*values[row.id], "updated_at"}))].append(row)
    now = timezone.now()
    written: set[int] = set()
    for names, members in groups.items():
        written |= _update(members, names, values, now)
    return written


def _update(
    rows: list[CopyTrade], names: tuple[str, ...], values: Mapping[int, Mapping[str, Any]], now: Any
) -> set[int]:
    fields = [_field(name) for name in names]
    quote = connection.ops.quote_name
    column = {field.name: quote(field.column or field.name) for field in fields}
    table = quote(CopyTrade._meta.db_table)
    cast = connection.vendor == "postgresql"  # VALUES columns are untyped there; SQLite needs no cast
    columns = ["id", "lease_version", *(column[field.name] for field in fields)]
    params: list[Any] = []
    for row in rows:
        given = {"updated_at": now, **values[row.id]}
        params += [row.id, row.lease_version]
        for field in fields:
            value = given[field.name]
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"write_fenced_each takes plain values, not expressions ({field.name})")
            params.append(field.get_db_prep_save(value, connection))
    value_slots = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    assignments = ", ".join(
        f"{column[field.name]} = "
        + (f"CAST(v.{column[field.name]} AS {field.cast_db_type(connection)})" if cast else f"v.{column[field.name]}")
        for field in fields
    )
    # Identifiers come from the model's metadata, every value is a query parameter.
    sql = (
        f"WITH v ({', '.join(columns)}) AS (VALUES {value_slots}) "  # noqa: S608
        f"UPDATE {table} SET {assignments} FROM v "
        f"WHERE {table}.id = v.id AND {table}.lease_version = v.lease_version "
        f"RETURNING {table}.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row_id for (row_id,) in cursor.fetchall()}


def _field(name: str) -> Field[Any, Any]:
    field = CopyTrade._meta.get_field(name)
    if not isinstance(field, Field) or not field.concrete or field.primary_key:
        raise ValueError(f"not a writable CopyTrade column: {name}")
    return field


def insert_new(rows: Sequence[CopyTrade]) -> list[tuple[int, str, str]]:
    """INSERT these new rows, skipping any that conflict with a row already there (a unique
    constraint), and return (id, lane, status) of the rows this call inserted.

    ``bulk_create(ignore_conflicts=True)`` returns no ids, so fan-out used to read the PENDING rows
    back with a second statement; ``INSERT … ON CONFLICT DO NOTHING RETURNING`` gives them in one
    (PostgreSQL and SQLite 3.35+). Field defaults, ``auto_now_add`` and each field's database
    preparation are applied as ``bulk_create`` applies them. Chunked to the backend's bulk batch
    size (PostgreSQL's 65,535 parameters, SQLite's variable limit)."""
    if not rows:
        return []
    fields = [field for field in CopyTrade._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    table = quote(CopyTrade._meta.db_table)
    columns = ", ".join(quote(field.column or field.name) for field in fields)
    slot = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, connection.ops.bulk_batch_size(fields, list(rows)))
    inserted: list[tuple[int, str, str]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params = [
                field.get_db_prep_save(field.pre_save(row, add=True), connection) for row in chunk for field in fields
            ]
            # Identifiers come from the model's metadata, every value is a query parameter.
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([slot] * len(chunk))} "  # noqa: S608
                "ON CONFLICT DO NOTHING RETURNING id, lane, status"
            )
            cursor.execute(sql, params)
            inserted += [(row_id, lane, status) for row_id, lane, status in cursor.fetchall()]
    return inserted
