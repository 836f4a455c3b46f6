"""Archiving: finished rows past retention move to archive tables, in batches that survive a kill.

What moves, oldest first, in batches of ``batch_size``:

1. copy trades in a terminal status created before the cutoff, unless their follow still holds
   shares of their token (an open position's history stays live: sells and P&L read it);
2. leader trades detected before the cutoff that no live copy trade references any more (and
   that are not waiting for their fan-out);
3. audit events created before the cutoff.

Debts (operator-wallet mode, issue #12) have no table yet; when they do, the rows a debt needs
join the exclusions of step 1.

Each batch is one transaction: lock the rows, insert their archive rows, delete the originals.
A process killed in a batch leaves that batch untouched (rolled back); a rerun starts over from
what is still live, and ``original_id`` is unique in every archive table, so no row is archived
twice. On PostgreSQL the emptied tables are then vacuumed and analysed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from copytrading.metrics import ARCHIVED_ROWS
from copytrading.models import ArchivedCopyTrade, ArchivedLeaderTrade, CopyTrade, LeaderTrade, Position
from polyhunter.models import ArchivedAuditEvent, AuditEvent

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
_AGE = re.compile(r"^(\d+)([dh])$")


def parse_age(text: str) -> timedelta:
    """``90d`` or ``12h``."""
    match = _AGE.match(text.strip())
    if match is None:
        raise ValueError(f"expected an age like 90d or 12h, got {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(days=amount) if unit == "d" else timedelta(hours=amount)


@dataclass
class ArchiveSummary:
    cutoff: datetime
    dry_run: bool
    rows: dict[str, int] = field(default_factory=dict)
    vacuumed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "would archive" if self.dry_run else "archived"
        out = [f"{verb} {count} {table}" for table, count in self.rows.items()]
        if self.vacuumed:
            out.append("vacuumed and analysed: " + ", ".join(self.vacuumed))
        return out


def archivable_copy_trades(*, cutoff: datetime) -> QuerySet[CopyTrade]:
    held = Position.objects.filter(
        relationship_id=OuterRef("relationship_id"), token_id=OuterRef("token_id"), shares__gt=Decimal(0)
    )
    return CopyTrade.objects.filter(status__in=CopyTrade.TERMINAL, created_at__lt=cutoff).exclude(Exists(held))


def archivable_leader_trades(*, cutoff: datetime) -> QuerySet[LeaderTrade]:
    copied = CopyTrade.objects.filter(leader_trade_id=OuterRef("pk"))
    return (
        LeaderTrade.objects.filter(detected_at__lt=cutoff)
        .exclude(status=LeaderTrade.Status.NEW)
        .exclude(Exists(copied))
    )


def archivable_audit_events(*, cutoff: datetime) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(created_at__lt=cutoff)


def archive_run(
    *,
    older_than: timedelta,
    dry_run: bool = False,
    batch_size: int = 500,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ArchiveSummary:
    cutoff = (now or timezone.now()) - older_than
    summary = ArchiveSummary(cutoff=cutoff, dry_run=dry_run)
    steps: list[tuple[str, Callable[[], QuerySet[Any]], Callable[[list[Any]], list[models.Model]]]] = [
        ("copy trades", lambda: archivable_copy_trades(cutoff=cutoff), _copy_archives),
        ("leader trades", lambda: archivable_leader_trades(cutoff=cutoff), _leader_archives),
        ("audit events", lambda: archivable_audit_events(cutoff=cutoff), _audit_archives),
    ]
    for table, rows, build in steps:
        total = rows().count()
        if dry_run or not total:
            summary.rows[table] = total
            continue
        summary.rows[table] = _move(table, rows, build, total=total, batch_size=batch_size, progress=progress)
    if connection.in_atomic_block:
        # VACUUM cannot run inside a transaction (a caller's, or a test's): the next run does it.
        log.info("archive: inside a transaction, VACUUM (ANALYZE) left for the next run")
    elif not dry_run and connection.vendor == "postgresql":
        tables = [
            model._meta.db_table
            for model, table in (
                (CopyTrade, "copy trades"),
                (LeaderTrade, "leader trades"),
                (AuditEvent, "audit events"),
            )
            if summary.rows.get(table)
        ]
        with connection.cursor() as cursor:
            for name in tables:  # outside any transaction: VACUUM refuses to run inside one
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(name)}")
        summary.vacuumed = tables
    return summary


def _move(
    table: str,
    rows: Callable[[], QuerySet[Any]],
    build: Callable[[list[Any]], list[models.Model]],
    *,
    total: int,
    batch_size: int,
    progress: Progress | None,
) -> int:
    moved = 0
    while True:
        with transaction.atomic():
            ids = list(rows().select_for_update().order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                return moved
            model = rows().model
            originals = list(model._default_manager.filter(pk__in=ids).order_by("pk"))
            archives = build(originals)
            type(archives[0])._default_manager.bulk_create(archives, ignore_conflicts=True)
            model._default_manager.filter(pk__in=ids).delete()
        moved += len(ids)
        ARCHIVED_ROWS.labels(table=table.replace(" ", "_")).inc(len(ids))
        log.info("archive: %s %d/%d", table, moved, total)
        if progress is not None:
            progress(table, moved, total)


def _snapshot(row: models.Model) -> dict[str, Any]:
    values = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
    snapshot: dict[str, Any] = json.loads(json.dumps(values, cls=DjangoJSONEncoder))
    return snapshot


def _copy_archives(rows: list[CopyTrade]) -> list[models.Model]:
    loaded = {
        row.pk: row
        for row in CopyTrade.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "relationship__leader", "leader_trade"
        )
    }
    out: list[models.Model] = []
    for row in rows:
        full = loaded[row.pk]
        out.append(
            ArchivedCopyTrade(
                original_id=row.pk,
                code=row.code,
                account_id=row.account_id,
                relationship_id=row.relationship_id,
                leader_address=full.relationship.leader.address,
                leader_trade_code=full.leader_trade.code if full.leader_trade is not None else None,
                trigger=row.trigger,
                side=row.side,
                token_id=row.token_id,
                status=row.status,
                reason_code=row.reason_code,
                reason_detail=row.reason_detail,
                reference_price=full.leader_trade.price if full.leader_trade is not None else row.signal_price,
                planned_price=row.planned_price,
                planned_usdc=row.planned_usdc,
                fill_price=row.fill_price,
                size_matched=row.size_matched,
                fill_usdc=row.fill_usdc,
                fee_usdc=row.fee_usdc,
                order_hash=row.order_hash,
                created_at=row.created_at,
                filled_at=row.filled_at,
                finished_at=row.finished_at,
                row=_snapshot(row),
            )
        )
    return out


def _leader_archives(rows: list[LeaderTrade]) -> list[models.Model]:
    return [
        ArchivedLeaderTrade(
            original_id=row.pk,
            code=row.code,
            leader_id=row.leader_id,
            dedupe_key=row.dedupe_key,
            source=row.source,
            tx_hash=row.tx_hash,
            token_id=row.token_id,
            side=row.side,
            price=row.price,
            shares=row.shares,
            usdc=row.usdc,
            status=row.status,
            occurred_at=row.occurred_at,
            detected_at=row.detected_at,
            row=_snapshot(row),
        )
        for row in rows
    ]


def _audit_archives(rows: list[AuditEvent]) -> list[models.Model]:
    return [
        ArchivedAuditEvent(
            original_id=row.pk,
            code=row.code,
            created_at=row.created_at,
            actor_id=row.actor_id,
            actor_label=row.actor_label,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            reason=row.reason,
            before=row.before,
            after=row.after,
        )
        for row in rows
    ]
