"""Execute a batch of copy trades: claim → guard → quote → size → sign once → POST → record.

Round trips are per batch wherever the database allows (one claim UPDATE, one load, one
switch read, one locked exposure read), so a 1,000-follower fan-out costs a few statements per
copy. The order is signed and persisted (SIGNED, with its hash) in the same transaction that
checks the caps under a lock on the accounts, then POSTed with no transaction open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from django.db import transaction
from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.freshness import signal_age
from copytrading.metrics import stage_observed
from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade
from copytrading.pipeline import submit
from copytrading.pipeline.batched import write_fenced_each
from copytrading.pipeline.context import GateContext, gate_context, gate_inputs
from copytrading.pipeline.exposure import Exposure, exposure_for
from copytrading.pipeline.fleet import fleet_checkout, fleet_holder, fleet_unsigned
from copytrading.pipeline.fleet_sell import fleet_sell_pull
from copytrading.pipeline.leases import finish, release, submit_lease
from copytrading.pipeline.paper import paper_fill
from copytrading.pipeline.quoting import Quote, Unpriced, quote_rows
from copytrading.pipeline.selling import sell_sizes
from copytrading.reasons import Reason
from execution.custody_modes import custody_sign, custody_signs_orders
from execution.guardrails import evaluate
from execution.guardrails.breaker import breaker_watch
from execution.metrics import RATE_LIMIT_WAITS
from execution.ratelimit import signer_slots
from execution.sizing import CopySize, Skip, protect, target_usdc
from execution.venue.clock import VenueClockUnknown
from execution.venue.errors import InvalidOrder, SigningFailed, VenueError
from execution.venue.gateway import venue_clock
from execution.venue.orders import OrderRequest

log = logging.getLogger(__name__)

RETRY_SOON = timedelta(seconds=1)
CLOCK_RETRY = 2


@dataclass
class Plan:
    row: CopyTrade
    size: CopySize
    quote: Quote


def copytrades_execute(*, ids: list[int], deployment: Deployment) -> int:
    """Run the pipeline for these rows; returns how many orders were sent (or paper-filled)."""
    from copytrading.pipeline.leases import claim

    rows = claim(ids=ids, deployment=deployment)
    if not rows:
        return 0
    for row in rows:
        if row.attempts == 1 and row.leader_trade is not None:
            stage_observed("fanout", row.leader_trade.detected_at, row.created_at)
        stage_observed("claim", row.created_at, row.claimed_at)
    context = gate_context()
    breaker_watch(is_open=context.breaker_open, copy_code=str(rows[0].code))
    amounts = _amounts(rows)
    rows = _pre_gate(rows, context, amounts)
    plans = _fleet_sell_pulls(_plans(rows, amounts))
    signed = _sign_and_reserve(plans, context)
    return submit.submit_signed(signed)


def _amounts(rows: list[CopyTrade]) -> dict[int, Decimal]:
    """What each copy trades before price protection: pUSD for a BUY, shares for a SELL."""
    amounts: dict[int, Decimal] = {}
    sells = [row for row in rows if row.side == CopyTrade.Side.SELL]
    amounts.update(sell_sizes(sells))
    for row in rows:
        if row.side == CopyTrade.Side.BUY:
            assert row.leader_trade is not None  # only leader trades are bought; protective exits sell
            follow = row.relationship
            amounts[row.id] = target_usdc(
                mode=follow.sizing_mode,
                value=Decimal(follow.sizing_value),
                leader_usdc=Decimal(row.leader_trade.usdc),
                min_usdc=follow.min_usdc_per_trade,
                max_usdc=follow.max_usdc_per_trade,
            )
    return amounts


def _pre_gate(rows: list[CopyTrade], context: GateContext, amounts: dict[int, Decimal]) -> list[CopyTrade]:
    """Guardrails that need no market data and no exposure: switches, pauses, per-order size.

    First the leader trade's age, as at fan-out: an execute message that waited in a backlog (or
    was re-sent by the sweeper) must not copy a signal that has gone stale since (reliability S26).
    The age is read on the venue's clock (``copytrading.freshness``): this worker's may be off (S37).
    Without a trusted venue time the rows the other guardrails pass are handed back untouched:
    their age cannot be judged, nor their L2 headers stamped (past their deadline they expire).
    """
    try:
        offset: timedelta | None = venue_clock().offset()
        unknown = ""
    except VenueClockUnknown as exc:
        offset, unknown = None, exc.detail
    passed, waiting = [], []
    now = timezone.now()
    max_age = timedelta(seconds=context.limits.max_leader_trade_age_seconds)
    for row in rows:
        age = None if offset is None else signal_age(row, now=now, offset=offset)
        if age is not None and age > max_age:
            limit = int(max_age.total_seconds())
            detail = f"the leader traded {int(age.total_seconds())} s ago; copies go out within {limit} s"
            finish([row], status=CopyTrade.Status.SKIPPED, reason=Reason.STALE, detail=detail)
            continue
        if row.leader_trade is not None and row.leader_trade.status == LeaderTrade.Status.RETRACTED:
            # A reorg undid the leader's fill after fan-out: there is nothing to copy.
            finish([row], status=CopyTrade.Status.SKIPPED, reason=Reason.LEADER_RETRACTED)
            continue
        notional = amounts[row.id] * row.reference_price if row.side == "SELL" else amounts[row.id]
        verdict = evaluate(gate_inputs(row=row, context=context, notional=notional, exposure=None))
        if not verdict.allowed:
            finish([row], status=CopyTrade.Status.BLOCKED, reason=verdict.reason, detail=verdict.detail)
        elif age is None:
            waiting.append(row)
        else:
            passed.append(row)
    if waiting:
        log.warning("copies %s: no trusted venue time, retried in %s s: %s", _codes(waiting), CLOCK_RETRY, unknown)
        release(waiting, after=timedelta(seconds=CLOCK_RETRY), reason=f"venue unavailable: {unknown}")
    return passed


def _codes(rows: list[CopyTrade]) -> str:
    return ", ".join(str(row.code) for row in rows[:3]) + (f" and {len(rows) - 3} more" if len(rows) > 3 else "")


def _plans(rows: list[CopyTrade], amounts: dict[int, Decimal]) -> list[Plan]:
    quotes = quote_rows(rows)
    plans = []
    for row in rows:
        quote = quotes[row.id]
        if isinstance(quote, Unpriced):
            log.warning("copy %s: venue fault while quoting, retried in 1 s: %s", row.code, quote.detail)
            release([row], after=RETRY_SOON, reason=f"venue unavailable: {quote.detail}")
            continue
        if isinstance(quote, Skip):
            finish([row], status=CopyTrade.Status.SKIPPED, reason=quote.reason, detail=quote.detail)
            continue
        follow = row.relationship
        sized = protect(
            side=row.side,
            amount=amounts[row.id],
            leader_price=row.reference_price,
            slippage_bps=follow.slippage_bps,
            tick=quote.market.tick_size,
            best_price=quote.best_price,
        )
        if isinstance(sized, Skip):
            finish([row], status=CopyTrade.Status.SKIPPED, reason=sized.reason, detail=sized.detail)
            continue
        plans.append(Plan(row=row, size=sized, quote=quote))
    return plans


def _fleet_sell_pulls(plans: list[Plan]) -> list[Plan]:
    """A fleet SELL signs with the operator wallet, which must hold the shares at the venue: they
    are pulled from the follower first (a mined chain transaction, no database transaction open)."""
    kept = []
    for plan in plans:
        if plan.row.side == CopyTrade.Side.SELL and plan.row.account.mode == TradingAccount.Mode.FLEET:
            size = fleet_sell_pull(plan.row, plan.size)
            if size is None:
                continue
            plan.size = size
        kept.append(plan)
    return kept


def _sign_and_reserve(plans: list[Plan], context: GateContext) -> list[submit.Signed]:
    """Check the caps and sign, under a lock on the accounts, and persist before any POST.

    Signing happens inside the lock so that two workers can never both fit an order under the
    same remaining cap (reliability S39). It is CPU only (no network), well under a millisecond.
    The signers' rate slots are taken in one Redis call and the signed rows are written in one
    UPDATE (each row with its own payload, fenced by its lease version), both in the transaction.
    """
    if not plans:
        return []
    signed: list[submit.Signed] = []
    writes: dict[int, dict[str, object]] = {}
    now = timezone.now()
    with transaction.atomic():
        account_ids = sorted({plan.row.account_id for plan in plans})
        # Lock the accounts, then their follows, in id order (no deadlocks between batches) and
        # read the limits in force now. The follows are locked too: an edit of a follow's caps
        # (follows.follow_update locks that follow) either committed before this read or waits
        # for this transaction, so no order is signed under a cap already replaced (S39).
        # NO KEY, for both: two batches of one account still exclude each other, but fan-out's
        # commit, whose deferred foreign-key checks take FOR KEY SHARE on the accounts and follows
        # of the rows it inserts (in follow order, not id order), never waits for this lock; with
        # FOR UPDATE the two orders deadlocked (issue 17, fix 3).
        accounts = {
            a.id: a
            for a in TradingAccount.objects.select_for_update(no_key=True).filter(id__in=account_ids).order_by("id")
        }
        follow_ids = {p.row.relationship_id for p in plans}
        follows = {
            f.id: f
            for f in CopyRelationship.objects.select_for_update(no_key=True).filter(id__in=follow_ids).order_by("id")
        }
        exposure = exposure_for(account_ids=account_ids, token_ids=sorted({p.row.token_id for p in plans}), now=now)
        for plan in plans:
            plan.row.account = accounts[plan.row.account_id]
            plan.row.relationship = follows[plan.row.relationship_id]
        slots = _signer_slots(plans, context)
        for plan in plans:
            outcome = _reserve_one(plan, context, exposure, has_slot=slots.get(plan.row.id, False))
            if outcome is not None:
                signed.append(outcome[0])
                writes[plan.row.id] = outcome[1]
        if signed:
            # A row whose lease was lost meanwhile is not written (another worker owns it now).
            written = write_fenced_each([item.row for item in signed], writes)
            signed = [item for item in signed if item.row.id in written]
    return signed


def _signer_slots(plans: list[Plan], context: GateContext) -> dict[int, bool]:
    """One rate slot per order its account signs itself (speed and session: a signer per
    follower), taken for the whole batch in one call."""
    own = [plan.row for plan in plans if custody_signs_orders(plan.row.account)]
    # A fleet account has no signer of its own; its copies share the follower's budget.
    taken = signer_slots(
        signers=[row.account.signer_address or f"fleet:{row.account.code}" for row in own],
        per_second=context.limits.signer_orders_per_second,
    )
    return {row.id: ok for row, ok in zip(own, taken, strict=True)}


def _reserve_one(
    plan: Plan, context: GateContext, exposure: Exposure, *, has_slot: bool
) -> tuple[submit.Signed, dict[str, object]] | None:
    """Gate, sign and return the row's SIGNED values (written with the batch), or None."""
    row, size = plan.row, plan.size
    fee = _worst_fee(plan)
    verdict = evaluate(gate_inputs(row=row, context=context, notional=size.notional_usdc, exposure=exposure, fee=fee))
    if not verdict.allowed:
        finish([row], status=CopyTrade.Status.BLOCKED, reason=verdict.reason, detail=verdict.detail)
        return None
    if row.account.is_paper:
        filled = paper_fill(row=row, size=size, quote=plan.quote, planned_fee=fee)
        if filled is not None and row.side == "BUY":
            exposure.add(
                follow_id=row.relationship_id,
                account_id=row.account_id,
                token_id=row.token_id,
                usdc=filled.notional + filled.fee,
            )
        return None
    if not custody_signs_orders(row.account):
        finish(
            [row],
            status=CopyTrade.Status.BLOCKED,
            reason=Reason.CUSTODY_NOT_READY,
            detail=f"{row.account.get_mode_display()} custody cannot place orders yet",
        )
        return None
    if not has_slot:
        RATE_LIMIT_WAITS.labels(limiter="signer").inc()
        release([row], after=RETRY_SOON, reason="signer rate limit")
        return None
    wallet = None
    if row.account.mode == TradingAccount.Mode.FLEET:
        wallet = fleet_checkout(row, notional=size.notional_usdc, fee=fee)
        if wallet is None:
            return None
    try:
        payload = custody_sign(
            account=row.account,
            request=_request(row, size),
            market=plan.quote.market,
            holder=fleet_holder(row) if wallet else "",
        )
    except (InvalidOrder, SigningFailed) as exc:
        if wallet is not None:
            fleet_unsigned(row, wallet_id=wallet.id)
        reason = Reason.BELOW_MIN_SIZE if exc.reason == "below_min_size" else Reason.CUSTODY_NOT_READY
        finish(
            [row],
            status=CopyTrade.Status.SKIPPED if isinstance(exc, InvalidOrder) else CopyTrade.Status.BLOCKED,
            reason=reason,
            detail=exc.detail,
        )
        return None
    except VenueError as exc:
        log.warning("copy %s blocked: the venue refused signing (%s): %s", row.code, exc.reason, exc.detail)
        finish([row], status=CopyTrade.Status.BLOCKED, reason=Reason.VENUE_VERSION, detail=exc.detail)
        return None
    now = timezone.now()
    stage_observed("sign", row.claimed_at, now)
    row.signed_at = now  # written with the batch; the POST stage is timed from it
    values: dict[str, object] = {
        "status": CopyTrade.Status.SIGNED,
        "signed_order": payload.to_json(),
        "order_hash": payload.order_hash,
        "planned_price": size.limit_price,
        "planned_size": size.amount
        if row.side == "SELL"
        else (size.amount / size.limit_price).quantize(Decimal("0.01")),
        "planned_usdc": size.notional_usdc,
        "quote_price": plan.quote.best_price,
        "planned_fee_usdc": fee,
        "signed_at": now,
        "submit_count": 1,
        "next_check_at": now + submit.FIRST_CHECK,
        # Shorter than the claim's lease: a worker killed before sending leaves the row to the
        # reconciler within seconds (renewed by a batch that takes longer, submit.py).
        "lease_until": now + submit_lease(),
    }
    if wallet is not None:
        values["operator_wallet"] = row.operator_wallet_id = wallet.id
    if row.side == "BUY":
        # Counted now, for the next rows of this batch; the row is written with the batch.
        exposure.add(
            follow_id=row.relationship_id,
            account_id=row.account_id,
            token_id=row.token_id,
            usdc=size.notional_usdc + fee,
        )
    return submit.Signed(row=row, payload=payload), values


def _worst_fee(plan: Plan) -> Decimal:
    """The most taker fee a BUY can pay on this market's fee curve (exits are not capped)."""
    if plan.row.side != CopyTrade.Side.BUY:
        return Decimal(0)
    market = plan.quote.market
    return market.fees.worst_buy_fee(usdc=plan.size.amount, max_price=plan.size.limit_price, tick=market.tick_size)


def _request(row: CopyTrade, size: CopySize) -> OrderRequest:
    order_type: Literal["FAK", "FOK"] = "FOK" if row.order_type == "FOK" else "FAK"
    if row.side == "BUY":
        return OrderRequest.market_buy(
            token_id=row.token_id, amount=size.amount, max_price=size.limit_price, order_type=order_type
        )
    return OrderRequest.market_sell(
        token_id=row.token_id, shares=size.amount, min_price=size.limit_price, order_type=order_type
    )
