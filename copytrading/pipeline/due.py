"""Take a batch of rows the reconciler must look at, leased, in one statement.

The reconciler's runs overlap (a tick every 2 s, continuations while a backlog lasts, hand-backs,
several workers): each run must get rows no other run has. One ``UPDATE … RETURNING`` picks the
most overdue unleased rows and leases them; on PostgreSQL the pick is ``FOR UPDATE SKIP LOCKED``,
so two runs at the same instant take disjoint batches instead of waiting on, or colliding over,
the same rows — more workers, more rows checked. On SQLite (embedded mode) the statement holds
the database's single write lock, which serialises the runs the same way. Only the rows this call
leased are returned (with their follow, account and leader trade), by primary key and owner token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.leases import lease_length, lease_owner
from copytrading.pipeline.loading import load_held


def take_due(
    *,
    statuses: Iterable[str],
    now: datetime,
    limit: int,
    deployment: Deployment | None = None,
    due_by: datetime | None = None,
    ids: Sequence[int] | None = None,
) -> list[CopyTrade]:
    """Lease up to ``limit`` unleased rows in ``statuses``, most overdue first.

    ``deployment``: only its rows (RUN_MODE routing). ``due_by``: only rows whose next check is
    due by then (None: due or not — staff's "reconcile now"). ``ids``: only among these rows.
    """
    statuses = list(statuses)
    if limit <= 0 or not statuses or (ids is not None and not ids):
        return []
    quote = connection.ops.quote_name
    table = quote(CopyTrade._meta.db_table)
    owner = lease_owner()
    stamp = CopyTrade._meta.get_field("updated_at").get_db_prep_value(now, connection)
    until = CopyTrade._meta.get_field("lease_until").get_db_prep_value(now + lease_length(), connection)
    where = [f"status IN ({', '.join(['%s'] * len(statuses))})", "(lease_until IS NULL OR lease_until < %s)"]
    params: list[Any] = [*statuses, stamp]
    if deployment is not None:
        where.append("deployment_id = %s")
        params.append(deployment.id)
    if due_by is not None:
        where.append("next_check_at <= %s")
        params.append(CopyTrade._meta.get_field("next_check_at").get_db_prep_value(due_by, connection))
    if ids is not None:
        where.append(f"id IN ({', '.join(['%s'] * len(ids))})")
        params.extend(ids)
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    # Identifiers come from the model's metadata; every value is a query parameter.
    sql = (
        f"UPDATE {table} SET lease_owner = %s, lease_until = %s, lease_version = lease_version + 1, "  # noqa: S608
        f"updated_at = %s WHERE id IN (SELECT id FROM {table} WHERE {' AND '.join(where)} "
        f"ORDER BY next_check_at LIMIT %s{skip_locked}) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [owner, until, stamp, *params, limit])
        taken = [row_id for (row_id,) in cursor.fetchall()]
    return load_held(ids=sorted(taken), owner=owner) if taken else []
