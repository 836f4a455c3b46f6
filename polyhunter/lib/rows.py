"""Model instances from plain SQL, built exactly as a QuerySet builds them.

For the few reads on the copy pipeline's hot path where compiling the query costs more CPU
than the round trip itself (docs/performance.md: ~half of a select_related load of a batch).
A model's SELECT list under a table alias is generated once per connection from its metadata;
each value goes through the converters the ORM's compiler applies (the backend's, then the
field's own ``from_db_value``) and the instance is made with ``Model.from_db``, so callers get
the objects a QuerySet would have returned (same types, ``_state.adding`` False, ``_state.db``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

M = TypeVar("M", bound=models.Model)
Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


class Columns(Generic[M]):
    """The concrete columns of ``model`` under ``alias``: ``sql`` for a SELECT list, ``build`` to
    turn that slice of a result row into an instance."""

    def __init__(self, model: type[M], alias: str, wrapper: BaseDatabaseWrapper) -> None:
        quote = wrapper.ops.quote_name
        fields = model._meta.concrete_fields
        self.model = model
        self.alias = alias
        self.width = len(fields)
        self.pk_index = next(index for index, field in enumerate(fields) if field.primary_key)
        self.sql = ", ".join(f"{quote(alias)}.{quote(_column(field))}" for field in fields)
        self._attnames = tuple(field.attname for field in fields)
        self._converters: list[tuple[int, Any, list[Converter]]] = []
        for index, field in enumerate(fields):
            column = field.get_col(alias)
            converters = [*wrapper.ops.get_db_converters(column), *column.get_db_converters(wrapper)]
            if converters:
                self._converters.append((index, column, converters))

    def build(self, values: Sequence[Any], wrapper: BaseDatabaseWrapper) -> M:
        row = list(values)
        for index, column, converters in self._converters:
            value = row[index]
            for convert in converters:
                value = convert(value, column, wrapper)
            row[index] = value
        return self.model.from_db(wrapper.alias, self._attnames, row)


_plans: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[tuple[type[models.Model], str], Columns[Any]]] = (
    weakref.WeakKeyDictionary()
)


def columns(model: type[M], alias: str) -> Columns[M]:
    """The (cached) columns of ``model`` under ``alias`` for this thread's default connection.

    Cached per connection object: converters are bound to that connection's operations.
    """
    wrapper = _wrapper()
    per_connection = _plans.setdefault(wrapper, {})
    plan = per_connection.get((model, alias))
    if plan is None:
        plan = per_connection[(model, alias)] = Columns(model, alias, wrapper)
    return plan


def select_one(model: type[M], **equal: Any) -> M | None:
    """``model.objects.filter(**equal).first()`` without compiling a query, for lookups that match
    at most one row (a primary key or unique columns). Keys are field names, values plain values
    (prepared for the database as the ORM prepares them)."""
    wrapper = _wrapper()
    plan = columns(model, "t")
    quote = wrapper.ops.quote_name
    conditions, params = [], []
    for name, value in equal.items():
        field = model._meta.get_field(name)
        if not isinstance(field, models.Field) or not field.concrete:
            raise ValueError(f"not a column of {model.__name__}: {name}")
        conditions.append(f"t.{quote(_column(field))} = %s")
        params.append(field.get_db_prep_value(value, wrapper))
    table = quote(model._meta.db_table)
    # Identifiers come from the model's metadata; every value is a query parameter.
    sql = f"SELECT {plan.sql} FROM {table} t WHERE {' AND '.join(conditions)}"  # noqa: S608
    with wrapper.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    return None if found is None else plan.build(found, wrapper)


def _column(field: models.Field[Any, Any]) -> str:
    assert field.column is not None  # a concrete field always has one
    return field.column


def _wrapper() -> BaseDatabaseWrapper:
    # ``django.db.connection`` is a proxy; the cache must hold (weakly) this thread's real object.
    return connections[DEFAULT_DB_ALIAS]
