"""Hand rows straight back to the reconciler: a row that needs recovery (a transient refusal, a
lost answer) is not left for the next periodic pass — a message on its deployment's recovery
queue (``<key>.reconcile``) is delayed until the row's check is due, and takes exactly that row.

The database still decides: the message only names ids, and the reconciler takes a row only if it
is due and unleased (a lost message costs nothing; the periodic pass finds the row anyway).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.utils import timezone

from copytrading.models import CopyTrade, Deployment
from polyhunter.broker import send_to_queue

# A message may run a little before the row's check is due (clocks, rounding): it waits this much
# past the due time, and due rows are grouped by this granularity into one message.
SLACK = timedelta(milliseconds=50)
BUCKET_MS = 250


def recovery_hand_back(rows: Sequence[tuple[CopyTrade, datetime]]) -> None:
    """Send each (row, due time) to its deployment's recovery queue, delayed until it is due."""
    if not rows:
        return
    from copytrading.tasks import recover_copy_trades

    keys = dict(Deployment.objects.filter(id__in={row.deployment_id for row, _ in rows}).values_list("id", "key"))
    now = timezone.now()
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for row, due in rows:
        delay_ms = max(0, int((due - now + SLACK).total_seconds() * 1000))
        bucket = -(-delay_ms // BUCKET_MS) * BUCKET_MS  # rounded up: never before the row is due
        groups[(keys[row.deployment_id], bucket)].append(row.id)
    for (key, delay_ms), ids in groups.items():
        send_to_queue(recover_copy_trades, f"{key}.reconcile", key, sorted(ids), delay_ms=delay_ms)
