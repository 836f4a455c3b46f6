"""The reconciler: asks the venue for the truth about every order whose outcome we do not know,
and follows every fill to its confirmation.

Two lanes per deployment, each worked by as many workers as are free: recovery (``recovery.py``:
lost answers, transient refusals, orders signed and never answered — resent as the same bytes,
never re-signed) on ``<key>.reconcile``, ahead of fill confirmation (``settle.py``: the venue's
trade status read in bulk per account) on ``<key>.settle``. The scheduler's tick starts a run of
each every 2 s; a full batch sends a continuation; rows needing recovery are also handed straight
back by the worker that met the trouble (``handback.py``). This module is the entry point for a
whole pass (the ``reconcile`` command, tests) and for staff's "reconcile now".
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.due import take_due
from copytrading.pipeline.recovery import AWAITING, recover_due, recover_rows
from copytrading.pipeline.settle import settle_due, settle_rows

# One pass takes at most this many rows of each lane (each row once: a row handed back for a
# check a moment later waits for the next pass, as it would for the next tick).
PASS_LIMIT = 500


def reconcile_due(*, deployment: Deployment, now: datetime | None = None) -> int:
    """One pass over this deployment's due rows: recovery first, then fill confirmation; returns
    how many rows were looked at."""
    now = now or timezone.now()
    return recover_due(deployment=deployment, now=now, limit=PASS_LIMIT) + settle_due(
        deployment=deployment, now=now, limit=PASS_LIMIT
    )


def copytrades_reconcile(*, ids: list[int]) -> int:
    """Staff "reconcile now": ask the venue about these rows immediately (same rules), due or not;
    rows another worker holds are left to it."""
    now = timezone.now()
    rows = take_due(statuses=[*AWAITING, CopyTrade.Status.FILLED], now=now, limit=len(ids), ids=ids)
    recover_rows([row for row in rows if row.status != CopyTrade.Status.FILLED], now=now)
    settle_rows([row for row in rows if row.status == CopyTrade.Status.FILLED], now=now)
    return len(rows)
