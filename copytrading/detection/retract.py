"""Reorgs: a leader trade whose logs left the canonical chain is retracted, never copied.

A retracted trade's PENDING copies are skipped with the same conditional UPDATE the executor's
claim races against (status=pending), so exactly one of the two wins. Copies that had already
left PENDING may have reached the venue: the trade is then flagged for staff instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from copytrading.models import CopyTrade, LeaderTrade

RETRACTED_REASON_CODE = "leader_retracted"
# Copies in these states never reached the venue, so a retraction leaves nothing to flag.
_NOT_SENT = (
    CopyTrade.Status.PENDING,
    CopyTrade.Status.SKIPPED,
    CopyTrade.Status.BLOCKED,
    CopyTrade.Status.EXPIRED,
)


@dataclass(frozen=True, slots=True)
class RetractResult:
    retracted: int
    flagged: int
    copies_skipped: int


def leader_trades_retract(*, keys: Iterable[str], reason: str) -> RetractResult:
    keys = list(keys)
    if not keys:
        return RetractResult(retracted=0, flagged=0, copies_skipped=0)
    now = timezone.now()
    with transaction.atomic():
        trades = list(
            LeaderTrade.objects.select_for_update()
            .filter(dedupe_key__in=keys)
            .exclude(status=LeaderTrade.Status.RETRACTED)
            .values_list("id", flat=True)
        )
        skipped = CopyTrade.objects.filter(leader_trade_id__in=trades, status=CopyTrade.Status.PENDING).update(
            status=CopyTrade.Status.SKIPPED,
            reason_code=RETRACTED_REASON_CODE,
            reason_detail=reason[:300],
            finished_at=now,
        )
        sent = set(
            CopyTrade.objects.filter(leader_trade_id__in=trades)
            .exclude(status__in=_NOT_SENT)
            .values_list("leader_trade_id", flat=True)
        )
        LeaderTrade.objects.filter(id__in=trades).update(status=LeaderTrade.Status.RETRACTED, reason=reason[:200])
        LeaderTrade.objects.filter(id__in=sent).update(flagged=True)
    return RetractResult(retracted=len(trades), flagged=len(sent), copies_skipped=skipped)
