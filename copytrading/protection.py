"""Protective exits: positions marked to the market, and stop-loss / take-profit exits.

Every open position of the follows this deployment serves is marked at the best bid of its
token (what selling would fetch now, from the venue's short book cache). When a follow's
stop-loss or take-profit is crossed, one exit is written — a SELL of the whole holding, on the
exits lane — and then goes through exactly the same pipeline as a leader-mirrored exit:
guardrails, price protection against the triggering mark, sign once, reconcile. At most one
protective exit is open per follow and token (a partial unique constraint), and none is
triggered while another sell of that position is still working, so a position is never sold
twice over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from copytrading.fanout import PENDING_DEADLINE, RESEND_AFTER, dispatch_execute, routed_to
from copytrading.models import CopyRelationship, CopyTrade, Deployment, Position
from execution.venue.errors import VenueError
from execution.venue.gateway import default_gateway

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class ProtectResult:
    marked: int
    triggered: int


def positions_protect(*, deployment: Deployment, now: datetime | None = None) -> ProtectResult:
    """Mark this deployment's open positions and open the protective exits now due."""
    now = now or timezone.now()
    follows = CopyRelationship.objects.filter(routed_to(deployment))
    positions = list(Position.objects.filter(shares__gt=0, relationship__in=follows).select_related("relationship"))
    marks = _marks({p.token_id for p in positions})
    for token, mark in marks.items():
        Position.objects.filter(token_id=token, shares__gt=0, id__in=[p.id for p in positions]).update(mark_price=mark)
    due = [(p, trigger) for p in positions if (trigger := _trigger(p, marks.get(p.token_id))) is not None]
    return ProtectResult(
        marked=len([p for p in positions if p.token_id in marks]),
        triggered=_open_exits(due, marks=marks, deployment=deployment, now=now),
    )


def _marks(tokens: set[str]) -> dict[str, Decimal]:
    gateway = default_gateway()
    marks: dict[str, Decimal] = {}
    for token in tokens:
        try:
            best_bid = gateway.book(token).best_bid
        except VenueError:
            continue  # no mark this round; the next round asks again
        if best_bid is not None:
            marks[token] = best_bid
    return marks


def _trigger(position: Position, mark: Decimal | None) -> str | None:
    cost = Decimal(position.cost_usdc)
    if mark is None or cost <= 0:
        return None
    change_pct = (Decimal(position.shares) * mark - cost) / cost * HUNDRED
    follow = position.relationship
    if follow.stop_loss_pct is not None and change_pct <= -Decimal(follow.stop_loss_pct):
        return CopyTrade.Trigger.STOP_LOSS
    if follow.take_profit_pct is not None and change_pct >= Decimal(follow.take_profit_pct):
        return CopyTrade.Trigger.TAKE_PROFIT
    return None


def _open_exits(
    due: list[tuple[Position, str]], *, marks: dict[str, Decimal], deployment: Deployment, now: datetime
) -> int:
    if not due:
        return 0
    with transaction.atomic():
        selling = set(
            CopyTrade.objects.filter(relationship_id__in=[p.relationship_id for p, _ in due], side=CopyTrade.Side.SELL)
            .exclude(status__in=CopyTrade.TERMINAL)
            .values_list("relationship_id", "token_id")
        )
        rows = [
            CopyTrade(
                relationship_id=position.relationship_id,
                account_id=position.account_id,
                leader_trade=None,
                trigger=trigger,
                signal_price=marks[position.token_id],
                signal_at=now,
                deployment=deployment,
                lane=CopyTrade.Lane.EXIT,
                side=CopyTrade.Side.SELL,
                token_id=position.token_id,
                order_type=position.relationship.order_type,
                deadline_at=now + PENDING_DEADLINE,
                next_check_at=now + RESEND_AFTER,
            )
            for position, trigger in due
            if (position.relationship_id, position.token_id) not in selling
        ]
        CopyTrade.objects.bulk_create(rows, ignore_conflicts=True)
        created = list(
            CopyTrade.objects.filter(deployment=deployment, signal_at=now, status=CopyTrade.Status.PENDING, attempts=0)
            .exclude(trigger=CopyTrade.Trigger.LEADER)
            .values_list("id", "lane")
        )
        transaction.on_commit(lambda: dispatch_execute(deployment_key=deployment.key, rows=created))
    return len(created)
