"""Fan-out: one leader trade becomes one CopyTrade per follow routed to this deployment.

Every decision that needs no market data is taken here and written as a SKIPPED row with its
reason, so followers see why a trade was not copied. Rows to execute are created PENDING in
the same transaction and their execute messages are sent on commit; the PENDING sweeper
re-sends any message lost between the commit and the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from copytrading.follows import MarketLists, market_list_reason
from copytrading.freshness import leader_trade_age, venue_offset_or_none
from copytrading.metrics import copies_counted
from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade, Position, live_follows
from copytrading.pipeline.batched import insert_new
from copytrading.reasons import Reason
from execution.guardrails import Holds, hold_verdict
from execution.models import GuardrailSettings
from polyhunter.broker import send_to_queue

# The actors of copytrading/tasks.py these messages go to, by name: tasks.py imports this module,
# so importing the actors here would be an import loop.
FAN_OUT_ACTOR = "fan_out"
EXECUTE_ACTOR = "execute_copy_trades"
PENDING_DEADLINE = timedelta(minutes=10)
# When the sweeper re-sends an execute message for a row still PENDING (its message was lost).
RESEND_AFTER = timedelta(seconds=10)


@dataclass(frozen=True)
class FanoutResult:
    created: int
    pending_ids: list[int]
    skipped: int


def fanout_enqueue(*, leader_trade_ids: list[int]) -> None:
    """Send one fan-out message per leader trade to each deployment that serves its leader."""
    if not leader_trade_ids:
        return
    routes = (
        CopyRelationship.objects.filter(live_follows(), leader__trades__id__in=leader_trade_ids)
        .values_list("leader__trades__id", "deployment__key")
        # No ordering: CopyRelationship's default ordering would add its id to the SELECT DISTINCT
        # and send one fan-out message per follow instead of one per deployment.
        .order_by()
        .distinct()
    )
    routed = set()
    for leader_trade_id, key in routes:
        deployment_key = key or Deployment.SHARED_KEY
        send_to_queue(FAN_OUT_ACTOR, f"{deployment_key}.fanout", leader_trade_id, deployment_key)
        routed.add(leader_trade_id)
    # Nobody follows these leaders: the trades are done, not waiting for a fan-out.
    LeaderTrade.objects.filter(id__in=set(leader_trade_ids) - routed, status=LeaderTrade.Status.NEW).update(
        status=LeaderTrade.Status.FANNED_OUT, fanned_out_at=timezone.now(), reason="no follows"
    )


def routed_to(deployment: Deployment) -> Q:
    """Follows this deployment serves: the shared backend takes every un-routed follow."""
    if deployment.kind == Deployment.Kind.SHARED_BACKEND:
        return Q(deployment__isnull=True)
    return Q(deployment=deployment)


def fanout_leader_trade(*, leader_trade_id: int, deployment: Deployment) -> FanoutResult:
    # Read before the row lock: it may measure the venue's clock (a GET /time once a minute).
    offset = venue_offset_or_none(where="fan-out")
    with transaction.atomic():
        # The row lock serialises two deliveries of the same message: the second sees the
        # first's rows and creates nothing.
        trade = LeaderTrade.objects.select_for_update().select_related("leader").get(id=leader_trade_id)
        if trade.status in (LeaderTrade.Status.RETRACTED, LeaderTrade.Status.IGNORED):
            return FanoutResult(created=0, pending_ids=[], skipped=0)
        follows = list(
            CopyRelationship.objects.filter(routed_to(deployment), leader_id=trade.leader_id)
            .filter(live_follows())
            .exclude(copy_trades__leader_trade=trade)
            .select_related("account")
        )
        rows = _copy_rows(trade=trade, follows=follows, deployment=deployment, offset=offset)
        # Only the rows made by this call: a re-delivered message must not re-dispatch rows
        # another delivery already handed out (the sweeper owns those).
        pending = [(row_id, lane) for row_id, lane, status in insert_new(rows) if status == CopyTrade.Status.PENDING]
        if trade.status == LeaderTrade.Status.NEW:
            LeaderTrade.objects.filter(id=trade.id).update(
                status=LeaderTrade.Status.FANNED_OUT, fanned_out_at=timezone.now()
            )
        transaction.on_commit(lambda: dispatch_execute(deployment_key=deployment.key, rows=pending))
    skipped = 0
    for row in rows:
        if row.status == CopyTrade.Status.SKIPPED:
            skipped += 1
            copies_counted(status=row.status, reason=row.reason_code)
    return FanoutResult(created=len(rows), pending_ids=[i for i, _ in pending], skipped=skipped)


def _copy_rows(
    *, trade: LeaderTrade, follows: list[CopyRelationship], deployment: Deployment, offset: timedelta | None
) -> list[CopyTrade]:
    now = timezone.now()
    max_age = timedelta(seconds=GuardrailSettings.current().max_leader_trade_age_seconds)
    # The trade's age on the venue's clock; without one, execute judges it (it checks every copy).
    too_old = offset is not None and leader_trade_age(occurred_at=trade.occurred_at, now=now, offset=offset) > max_age
    stale = trade.status == LeaderTrade.Status.STALE or too_old
    held = _held_for_leader(trade=trade, follows=follows) if trade.side == LeaderTrade.Side.SELL else set()
    rows = []
    for follow in follows:
        reason = Reason.STALE if stale else _skip_reason(trade=trade, follow=follow, held=held)
        rows.append(
            CopyTrade(
                relationship=follow,
                leader_trade=trade,
                account=follow.account,
                deployment=deployment,
                lane=CopyTrade.Lane.EXIT if trade.side == LeaderTrade.Side.SELL else CopyTrade.Lane.COPY,
                side=trade.side,
                token_id=trade.token_id,
                order_type=follow.order_type,
                status=CopyTrade.Status.SKIPPED if reason else CopyTrade.Status.PENDING,
                reason_code=reason or "",
                finished_at=now if reason else None,
                deadline_at=now + PENDING_DEADLINE,
                next_check_at=None if reason else now + RESEND_AFTER,
            )
        )
    return rows


def _held_for_leader(*, trade: LeaderTrade, follows: list[CopyRelationship]) -> set[int]:
    """Follows holding shares of this token bought for this leader (copy sells sell only those)."""
    return set(
        Position.objects.filter(relationship__in=follows, token_id=trade.token_id, shares__gt=Decimal(0)).values_list(
            "relationship_id", flat=True
        )
    )


def _skip_reason(*, trade: LeaderTrade, follow: CopyRelationship, held: set[int]) -> str | None:
    # A trade seen on chain has no condition id yet: an allow list may name its market by
    # condition id, so only execute can tell (it checks the lists again against the venue's
    # market info, pipeline/quoting.py — which also holds a deny list by condition id).
    return copy_skip_reason(
        settings=follow,
        side=trade.side,
        price=trade.price,
        token_id=trade.token_id,
        condition_id=trade.condition_id,
        holds=follow.id in held,
        leader_paused=trade.leader.paused,
        follow_held=follow.staff_hold != CopyRelationship.StaffHold.NONE,
        follow_paused=follow.status != CopyRelationship.Status.ACTIVE,
        account_paused=follow.account.paused,
    )


class CopySettings(MarketLists, Protocol):
    """What fan-out reads of a follow's settings (a CopyRelationship, or FollowSettings in a backtest)."""

    @property
    def price_min(self) -> Decimal | None: ...

    @property
    def price_max(self) -> Decimal | None: ...

    @property
    def copy_sells(self) -> bool: ...


def copy_skip_reason(
    *,
    settings: CopySettings,
    side: str,
    price: Decimal,
    token_id: str,
    condition_id: str,
    holds: bool,
    leader_paused: bool = False,
    follow_held: bool = False,
    follow_paused: bool = False,
    account_paused: bool = False,
) -> str | None:
    """Why a follow with these settings does not copy this leader trade (fan-out's decisions, the
    ones that need no market data), or None. "What copying would have made" asks the same."""
    listed = market_list_reason(settings, token_id=token_id, condition_id=condition_id)
    if listed == Reason.MARKET_NOT_ALLOWED and not condition_id:
        listed = None
    # The pauses in the gate's own order (execution.guardrails.hold_verdict); the platform
    # switches are the gate's to apply when the copy executes.
    hold = hold_verdict(
        Holds(
            lane=CopyTrade.Lane.EXIT if side == LeaderTrade.Side.SELL else CopyTrade.Lane.COPY,
            kill_switch=False,
            pause_copies=False,
            exits_only=False,
            leader_paused=leader_paused,
            account_paused=account_paused,
            follow_held=follow_held,
            follow_paused=follow_paused,
        )
    )
    checks: list[tuple[bool, str | None]] = [
        (not hold.allowed, hold.reason),
        (listed is not None, listed),
        (not _price_in_band(price, settings), Reason.PRICE_OUTSIDE_BAND),
        (side == LeaderTrade.Side.SELL and not settings.copy_sells, Reason.COPY_SELLS_OFF),
        (side == LeaderTrade.Side.SELL and not holds, Reason.NOTHING_TO_SELL),
    ]
    return next((str(reason) for failed, reason in checks if failed), None)


def _price_in_band(price: Decimal, settings: CopySettings) -> bool:
    if settings.price_min is not None and price < settings.price_min:
        return False
    return not (settings.price_max is not None and price > settings.price_max)


def dispatch_execute(*, deployment_key: str, rows: list[tuple[int, str]]) -> None:
    """Send execute messages for PENDING rows, exits and copies on their own lane queues.

    The first message carries a single row so the first follower's order leaves at once; the
    rest go in batches of up to 32 that one worker claims, signs and records with a few round
    trips (32 rather than 16: each message has a fixed cost of about a dozen statements, and a
    leader with 20 followers now takes 2 messages instead of 3; docs/performance.md).
    """
    for lane in (CopyTrade.Lane.EXIT, CopyTrade.Lane.COPY):
        ids = [row_id for row_id, row_lane in rows if row_lane == lane]
        queue = f"{deployment_key}.{'exits' if lane == CopyTrade.Lane.EXIT else 'copies'}"
        for batch in _batches(ids):
            send_to_queue(EXECUTE_ACTOR, queue, batch)


def _batches(ids: list[int], size: int = 32) -> list[list[int]]:
    if not ids:
        return []
    return [ids[:1]] + [ids[i : i + size] for i in range(1, len(ids), size)]
