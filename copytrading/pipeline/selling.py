"""Copy sells: a follow sells what it bought for that leader, in the leader's proportion.

If the leader sells a third of the shares it still holds (counting only buys this follow
copied), the follow sells a third of what it holds for that leader; a full exit is a full
exit. A follow never sells more than its confirmed position.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Sum

from copytrading.models import CopyTrade, Position
from execution.sizing import sell_shares

# Fleet copies end SETTLEMENT_PENDING -> SETTLED (or DEBT: the shares are the follower's either way).
_COPIED_BUYS = [CopyTrade.Status.FILLED, CopyTrade.Status.CONFIRMED, CopyTrade.Status.SETTLED, CopyTrade.Status.DEBT]
_MIRRORED_SELLS = [
    CopyTrade.Status.SETTLEMENT_PENDING,
    CopyTrade.Status.SETTLED,
    CopyTrade.Status.SIGNED,
    CopyTrade.Status.UNKNOWN,
    CopyTrade.Status.DELAYED,
    CopyTrade.Status.LIVE,
    CopyTrade.Status.FILLED,
    CopyTrade.Status.CONFIRMED,
]


def sell_sizes(rows: list[CopyTrade]) -> dict[int, Decimal]:
    if not rows:
        return {}
    follows = {row.relationship_id for row in rows}
    tokens = {row.token_id for row in rows}
    holdings = {
        (p.relationship_id, p.token_id): Decimal(p.shares)
        for p in Position.objects.filter(relationship_id__in=follows, token_id__in=tokens)
    }
    bought = _leader_shares(follows, tokens, side=CopyTrade.Side.BUY, statuses=_COPIED_BUYS)
    sold_before = _leader_shares(follows, tokens, side=CopyTrade.Side.SELL, statuses=_MIRRORED_SELLS)
    sizes = {}
    for row in rows:
        key = (row.relationship_id, row.token_id)
        if row.leader_trade is None:
            # A stop-loss / take-profit exit closes the whole position.
            sizes[row.id] = sell_shares(
                holding=holdings.get(key, Decimal(0)), leader_sold=Decimal(1), leader_bought=Decimal(1)
            )
            continue
        remaining = bought[key] - sold_before[key]
        assert row.leader_trade is not None
        sizes[row.id] = sell_shares(
            holding=holdings.get(key, Decimal(0)),
            leader_sold=Decimal(row.leader_trade.shares),
            leader_bought=remaining,
        )
    return sizes


def _leader_shares(
    follows: set[int], tokens: set[str], *, side: str, statuses: Sequence[str]
) -> defaultdict[tuple[int, str], Decimal]:
    totals: defaultdict[tuple[int, str], Decimal] = defaultdict(Decimal)
    rows = (
        CopyTrade.objects.filter(relationship_id__in=follows, token_id__in=tokens, side=side, status__in=statuses)
        .values("relationship_id", "token_id")
        .annotate(total=Sum("leader_trade__shares"))
    )
    for row in rows:
        totals[(row["relationship_id"], row["token_id"])] += row["total"] or Decimal(0)
    return totals
