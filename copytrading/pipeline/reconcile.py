"""The reconciler: asks the venue for the truth about every order whose outcome we do not know.

SIGNED / UNKNOWN / DELAYED / LIVE rows are looked up by their order hash. Found: record what the
venue says. Not found (K times, spaced) and the leader trade still fresh: resend the SAME signed
bytes (the venue dedupes by hash, the chain bounds fills by hash — invariant I1). Not found and
too old: EXPIRED. FILLED rows are followed through their trades to CONFIRMED (position updated)
or FAILED. An unknown outcome is never retried with a new signature.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from copytrading.metrics import reconciler_decided
from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.leases import finish, lease_length, lease_owner, write_fenced
from copytrading.pipeline.loading import load_held
from copytrading.pipeline.positions import position_apply_fill
from copytrading.pipeline.submit import SETTLEMENT_CHECK, post_and_record
from copytrading.reasons import Reason
from execution.models import GuardrailSettings
from execution.switches import kill_switch_engaged
from execution.venue.errors import CorruptPayload, VenueError
from execution.venue.gateway import default_gateway
from execution.venue.lookup import VenueOrder, VenueTrade
from execution.venue.payload import SignedOrderPayload
from execution.venue.services import account_trades, order_lookup

log = logging.getLogger(__name__)

NOT_FOUND_LIMIT = 2
RECHECK = timedelta(seconds=2)
SETTLE_GIVE_UP = timedelta(hours=1)
BATCH = 200
_LOOKUP = [CopyTrade.Status.SIGNED, CopyTrade.Status.UNKNOWN, CopyTrade.Status.DELAYED, CopyTrade.Status.LIVE]


def reconcile_due(*, deployment: Deployment, now: datetime | None = None) -> int:
    """Reconcile this deployment's rows whose next check is due; returns how many were looked at."""
    now = now or timezone.now()
    due = CopyTrade.objects.filter(
        deployment=deployment, status__in=[*_LOOKUP, CopyTrade.Status.FILLED], next_check_at__lte=now
    ).order_by("next_check_at")
    return _reconcile(list(due.values_list("id", flat=True)[:BATCH]), now=now)


def copytrades_reconcile(*, ids: list[int]) -> int:
    """Staff "reconcile now": ask the venue about these rows immediately (same rules)."""
    return _reconcile(ids, now=timezone.now())


@dataclass(frozen=True)
class ReconcileFinding:
    code: str
    before: str
    after: str
    reason: str


def copytrades_reconcile_report(*, ids: list[int]) -> tuple[int, list[ReconcileFinding]]:
    """``copytrades_reconcile`` and what it found: each row's status before and after, and why."""
    before = dict(CopyTrade.objects.filter(id__in=ids).values_list("id", "status"))
    looked_at = copytrades_reconcile(ids=ids)
    found = [
        ReconcileFinding(str(code), before.get(row_id, ""), status, reason)
        for row_id, code, status, reason in CopyTrade.objects.filter(id__in=ids)
        .order_by("id")
        .values_list("id", "code", "status", "reason_code")
    ]
    return looked_at, found


def _reconcile(ids: list[int], *, now: datetime) -> int:
    rows = _take(ids, now=now)
    for row in rows:
        try:
            if row.status == CopyTrade.Status.FILLED:
                _settle(row, now=now)
            else:
                _resolve(row, now=now)
        except VenueError as exc:
            _decided(row, "deferred", f"venue fault ({exc.reason}); asked again in 4 s", level=logging.WARNING)
            write_fenced([row], next_check_at=now + RECHECK * 2, lease_owner="", lease_until=None)
        except Exception:
            # A poison row must not stop the others (style C10): push it back a minute, log it.
            reconciler_decided("error")
            log.exception("copy %s: reconcile failed; looked at again in a minute", row.code)
            write_fenced([row], next_check_at=now + timedelta(minutes=1), lease_owner="", lease_until=None)
    return len(rows)


def _take(ids: list[int], *, now: datetime) -> list[CopyTrade]:
    """Lease rows for reconciliation; rows another worker holds are left alone."""
    owner = lease_owner()
    unheld = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    taken = CopyTrade.objects.filter(unheld, id__in=ids, status__in=[*_LOOKUP, CopyTrade.Status.FILLED]).update(
        lease_owner=owner, lease_until=now + lease_length(), lease_version=F("lease_version") + 1, updated_at=now
    )
    # By primary key, as claim does: lease_owner has no index (filtering on it alone scanned the
    # whole table every reconcile tick), and only these ids can carry the fresh owner token.
    return load_held(ids=ids, owner=owner) if taken else []


def _resolve(row: CopyTrade, *, now: datetime) -> None:
    assert row.order_hash is not None
    lookup = order_lookup(account=row.account, order_hash=row.order_hash)
    if lookup.kind == "found" and lookup.order is not None:
        _record_found(row, lookup.order, now=now)
    elif lookup.kind == "not_found":
        _not_found(row, now=now)
    else:
        _decided(
            row, "lookup_failed", f"venue fault on lookup ({lookup.reason}); asked again in 2 s", level=logging.WARNING
        )
        write_fenced(
            [row],
            next_check_at=now + RECHECK,
            lease_owner="",
            lease_until=None,
            reason_detail=f"lookup: {lookup.reason} {lookup.detail}"[:300],
        )


def _record_found(row: CopyTrade, order: VenueOrder, *, now: datetime) -> None:
    release: dict[str, object] = {
        "lease_owner": "",
        "lease_until": None,
        "venue_status": order.status[:40],
        "recorded_at": now,
        "not_found_count": 0,
    }
    if order.size_matched > 0 and (order.is_dead or order.status == "MATCHED"):
        price = order.price or Decimal(row.planned_price or 0)
        usdc = (order.size_matched * price).quantize(Decimal("0.000001"))
        _decided(row, "filled", f"the venue shows {order.size_matched} shares matched ({order.status})")
        write_fenced(
            [row],
            **release,
            status=CopyTrade.Status.FILLED,
            size_matched=order.size_matched,
            fill_usdc=usdc,
            fill_price=price,
            filled_at=now,
            next_check_at=now,
            trade_ids=list(order.associate_trades),
            reason_code="",
            reason_detail="",
        )
    elif order.is_open:
        status = CopyTrade.Status.DELAYED if order.status == "DELAYED" else CopyTrade.Status.LIVE
        _decided(row, "open", f"the venue shows the order {order.status}")
        write_fenced([row], **release, status=status, next_check_at=now + RECHECK)
    elif order.status == "CANCELED_MARKET_RESOLVED":
        _decided(row, "canceled", "the market resolved")
        write_fenced([row], **release)
        finish([row], status=CopyTrade.Status.CANCELED, reason=Reason.MARKET_RESOLVED)
    elif order.status == "INVALID":
        _decided(row, "rejected", "the venue shows the order INVALID")
        write_fenced([row], **release)
        finish([row], status=CopyTrade.Status.REJECTED, reason=Reason.VENUE_REJECTED, detail="venue: INVALID")
    else:
        _decided(row, "killed", f"the venue shows the order {order.status} with nothing matched")
        write_fenced([row], **release)
        finish([row], status=CopyTrade.Status.REJECTED, reason=Reason.KILLED, detail=f"venue: {order.status}")


def _not_found(row: CopyTrade, *, now: datetime) -> None:
    count = row.not_found_count + 1
    # A row the venue answered "retry later" for was definitely not placed: one look is enough.
    enough = count >= (1 if row.reason_code.startswith("retry_later") else NOT_FOUND_LIMIT)
    if not enough:
        _decided(row, "not_found_again", f"not at the venue (lookup {count}); looked up again in 2 s")
        write_fenced([row], not_found_count=count, next_check_at=now + RECHECK, lease_owner="", lease_until=None)
        return
    max_age = timedelta(seconds=GuardrailSettings.current().max_leader_trade_age_seconds)
    if now - row.signal_time > max_age:
        _decided(row, "expired", f"not at the venue after {count} lookups and too old to resend: expired")
        finish(
            [row],
            status=CopyTrade.Status.EXPIRED,
            reason=Reason.NOT_FOUND,
            detail=f"not at the venue after {count} lookups and the leader trade is too old to resend",
        )
        return
    if kill_switch_engaged():
        _decided(row, "held_by_kill_switch", "not at the venue; the kill switch holds the resend")
        write_fenced([row], not_found_count=count, next_check_at=now + RECHECK, lease_owner="", lease_until=None)
        return
    if row.account.paused:
        # Not at the venue, so never placed; a paused account sends nothing more (S40: an API
        # key or session signer the venue refused would only be refused again).
        finish(
            [row],
            status=CopyTrade.Status.BLOCKED,
            reason=Reason.ACCOUNT_PAUSED,
            detail="never placed; the account was paused before it could be sent again",
        )
        return
    _decided(row, "resent", f"not at the venue after {count} lookups: the same signed bytes are sent again")
    _resend(row, count=count, now=now)


def _resend(row: CopyTrade, *, count: int, now: datetime) -> None:
    try:
        payload = SignedOrderPayload.from_json(row.signed_order or {})
    except CorruptPayload as exc:
        _decided(row, "expired", f"the stored order is unusable ({exc.reason}): expired", level=logging.WARNING)
        finish([row], status=CopyTrade.Status.EXPIRED, reason=Reason.NOT_FOUND, detail=f"stored order: {exc.detail}")
        return
    # Count the attempt before it leaves, so "submit_count = 0" always means never sent.
    if not write_fenced(
        [row],
        not_found_count=count,
        submit_count=F("submit_count") + 1,
        submitted_at=now,
        lease_until=now + lease_length(),
    ):
        return
    post_and_record(row=row, payload=payload)


def _settle(row: CopyTrade, *, now: datetime) -> None:
    """Follow the fill's trades to CONFIRMED (position credited) or FAILED (nothing credited)."""
    if row.account.is_paper:
        return
    assert row.order_hash is not None
    trades = _trades_of(row)
    done = [t for t in trades if t.is_final]
    if trades and len(done) == len(trades):
        failed = [t for t in trades if t.status == "FAILED"]
        confirmed = [t for t in trades if t.status == "CONFIRMED"]
        shares = sum((t.size_for_order(row.order_hash) for t in confirmed), Decimal(0))
        usdc = sum((t.usdc_for_order(row.order_hash) for t in confirmed), Decimal(0))
        fee = Decimal(0)
        if confirmed:
            fees = default_gateway().market_info(row.token_id).fees
            fee = sum((t.taker_fee_for_order(row.order_hash, fees=fees) for t in confirmed), Decimal(0))
        _confirm(row, shares=shares, usdc=usdc, fee=fee, failed=bool(failed) and not confirmed, now=now)
    elif now - (row.filled_at or now) > SETTLE_GIVE_UP:
        _decided(row, "settlement_gave_up", "trades not final after an hour: failed", level=logging.WARNING)
        finish(
            [row],
            status=CopyTrade.Status.FAILED,
            reason=Reason.SETTLEMENT_FAILED,
            detail="trades not final after an hour",
        )
    else:
        # Waiting for the chain is not a decision worth a line every 2 s; it is counted.
        reconciler_decided("settling")
        write_fenced([row], next_check_at=now + SETTLEMENT_CHECK, lease_owner="", lease_until=None)


def _trades_of(row: CopyTrade) -> list[VenueTrade]:
    """The trades that filled this order: by the ids the venue gave, else the account's recent ones."""
    assert row.order_hash is not None
    pages = [account_trades(account=row.account, trade_id=str(trade_id)) for trade_id in row.trade_ids or []]
    if not pages:
        since = int((row.signed_at or row.created_at).timestamp()) - 60
        pages = [account_trades(account=row.account, after=since)]
    return [t for page in pages for t in page.trades if t.size_for_order(row.order_hash) > 0]


def _confirm(row: CopyTrade, *, shares: Decimal, usdc: Decimal, fee: Decimal, failed: bool, now: datetime) -> None:
    with transaction.atomic():
        if failed:
            _decided(row, "settlement_failed", "its trades failed on chain: nothing credited", level=logging.WARNING)
            finish([row], status=CopyTrade.Status.FAILED, reason=Reason.SETTLEMENT_FAILED)
            return
        _decided(row, "confirmed", f"confirmed on chain: {shares} shares for {usdc} pUSD, fee {fee} pUSD")
        price = (usdc / shares).quantize(Decimal("0.0000000001")) if shares else None
        if write_fenced(
            [row],
            status=CopyTrade.Status.CONFIRMED,
            size_matched=shares,
            fill_usdc=usdc,
            fee_usdc=fee,
            fill_price=price,
            finished_at=now,
            lease_owner="",
            lease_until=None,
        ):
            position_apply_fill(trade=row, shares=shares, usdc=usdc, fee=fee)


def _decided(row: CopyTrade, decision: str, words: str, *, level: int = logging.INFO) -> None:
    """One line per reconciler decision, with the copy's public id, and its counter."""
    reconciler_decided(decision)
    log.log(level, "copy %s: reconciler: %s", row.code, words)
