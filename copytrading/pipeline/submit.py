"""POST signed orders (no transaction open), classify each answer, record it under the lease.

The venue's answer decides the row: placed → FILLED/LIVE/DELAYED, rejected → REJECTED,
unknown → UNKNOWN (the reconciler asks the venue by hash; never a new signature), retry_later →
stays SIGNED and the reconciler resends the same bytes after a backoff. Both are handed straight
back to the reconciler (``handback``) and stamped ``outcome_unknown_at``; the answer that settles
a row in recovery stamps ``outcome_resolved_at``. A lost lease means another worker owns the row
now: this worker writes nothing.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.controls import account_session_lost, account_set_paused
from copytrading.metrics import copies_counted, stage_observed
from copytrading.models import CopyTrade
from copytrading.pipeline.batched import write_fenced_each
from copytrading.pipeline.fleet import fleet_release
from copytrading.pipeline.handback import recovery_hand_back
from copytrading.pipeline.leases import finish, submit_lease, write_fenced
from copytrading.reasons import Reason
from execution.guardrails.breaker import breaker_record
from execution.switches import kill_switch_engaged
from execution.venue.classify import Classification
from execution.venue.errors import VenueError
from execution.venue.payload import SignedOrderPayload
from execution.venue.services import order_post

log = logging.getLogger(__name__)

# If the worker dies between persisting SIGNED and recording the answer, the reconciler first
# looks after this long (the submit lease keeps it away while the worker is alive).
FIRST_CHECK = timedelta(seconds=5)
UNKNOWN_RECHECK = timedelta(seconds=2)
SETTLEMENT_CHECK = timedelta(seconds=2)
# A transient refusal (429, 425, 503 before commit, or a request that never left): the same bytes
# go again after 0.5 s, doubling with each POST up to 8 s, +/-20 % so throttled followers spread.
RESEND_FIRST = 0.5
RESEND_MAX = 8.0


def resend_backoff(posts: int) -> timedelta:
    """How long to wait before resending the same bytes after the ``posts``-th POST was refused."""
    base = min(RESEND_MAX, RESEND_FIRST * 2 ** max(0, posts - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # spreading, not secrecy


@dataclass
class Signed:
    row: CopyTrade
    payload: SignedOrderPayload


def submit_signed(signed: list[Signed]) -> int:
    """The final gate before every POST, then the POST; returns how many were sent.

    The kill switch is read again right before each order leaves, so once it is engaged no
    further order of the batch starts (the one in flight finishes). The answers are recorded
    together after the last POST, in one fenced UPDATE with each row's own values
    (``batched.write_fenced_each``), with the time each POST left (``submitted_at``). A worker
    that dies between a POST and that UPDATE leaves the row SIGNED with its hash, which the
    reconciler looks up, exactly as after a crash right after a single POST.
    """
    answered: list[CopyTrade] = []
    values: dict[int, dict[str, object]] = {}
    unknown = total = sent = 0
    lost: set[int] = set()
    # Accounts an answer of this batch paused: none of their remaining orders leaves (S40).
    stopped: set[int] = set()
    held: list[CopyTrade] = []
    renew_at = timezone.now() + submit_lease() / 2
    for index, item in enumerate(signed):
        if kill_switch_engaged():
            _never_sent([later.row for later in signed[index:] if later.row.id not in lost])
            break
        if item.row.account_id in stopped:
            held.append(item.row)
            continue
        if timezone.now() >= renew_at:
            # A slow venue can stretch a batch past the lease; renew it for the rows still to
            # send, and leave the ones already taken over to their new holder (same bytes).
            lost |= _renew([later.row for later in signed[index:] if later.row.id not in lost])
            renew_at = timezone.now() + submit_lease() / 2
        if item.row.id in lost:
            continue
        sent_at = timezone.now()
        answer = _post(row=item.row, payload=item.payload)
        if answer is None:
            continue
        sent += 1
        if counts_for_breaker(answer):
            total += 1
            unknown += is_failure(answer)
        answered.append(item.row)
        values[item.row.id] = {"submitted_at": sent_at, **answer_values(row=item.row, answer=answer)}
        if item.row.account.paused:
            stopped.add(item.row.account_id)
    # The answers first: they are what the money depends on; the breaker's count (in Redis) after.
    written = write_fenced_each(answered, values)
    if total > unknown:
        breaker_record(unknown=False, count=total - unknown)
    if unknown:
        breaker_record(unknown=True, count=unknown)
    for row in answered:
        if row.id in written:
            answer_observed(row=row, values=values[row.id])
    hand_back_if_recovering([(row, values[row.id]) for row in answered if row.id in written])
    fleet_release([row.id for row in answered if row.operator_wallet_id is not None])
    if held:
        _held_for_pause(held)
    return sent


def hand_back_if_recovering(recorded: list[tuple[CopyTrade, dict[str, object]]]) -> None:
    """Rows whose recorded answer left them in recovery go straight back to the reconciler."""
    due: list[tuple[CopyTrade, datetime]] = []
    for row, written in recorded:
        next_check = written.get("next_check_at")
        if "outcome_unknown_at" in written and isinstance(next_check, datetime):
            due.append((row, next_check))
    recovery_hand_back(due)


def _held_for_pause(rows: list[CopyTrade]) -> None:
    """Signed, never sent, and their account was paused by an answer of the same batch."""
    write_fenced(rows, submit_count=0)
    finish(
        rows,
        status=CopyTrade.Status.BLOCKED,
        reason=Reason.ACCOUNT_PAUSED,
        detail="the venue refused an earlier order of this account; this one was never sent",
    )


def _never_sent(rows: list[CopyTrade]) -> None:
    """Persisted but provably never sent: safe to close, and no worker may send them later."""
    write_fenced(rows, submit_count=0)
    finish(
        rows,
        status=CopyTrade.Status.BLOCKED,
        reason=Reason.KILL_SWITCH,
        detail="engaged while the order was being prepared; it was never sent",
    )


def post_and_record(*, row: CopyTrade, payload: SignedOrderPayload) -> Classification | None:
    """POST the stored bytes once and record the answer; None when the gateway refused to send."""
    answer = _post(row=row, payload=payload)
    if answer is None:
        return None
    values = answer_values(row=row, answer=answer)
    recorded = write_fenced([row], **values)
    if counts_for_breaker(answer):
        breaker_record(unknown=is_failure(answer))
    if recorded:
        answer_observed(row=row, values=values)  # a resend: its stages are not a first copy's
        hand_back_if_recovering([(row, values)])
    return answer


def answer_observed(*, row: CopyTrade, values: dict[str, object]) -> None:
    """Count a recorded answer, time its stages, and log it when it is a fault or a refusal.

    One line per fault (no answer, 5xx, unreadable, halts, 429) at WARNING and per refusal at
    INFO, with the copy's public id; placed orders are on their row and are not logged.
    """
    status = str(values.get("status", row.status))
    reason = str(values.get("reason_code") or values.get("venue_status") or "")
    copies_counted(status=status, reason=reason)
    sent_at, recorded_at = values.get("submitted_at"), values.get("recorded_at")
    if isinstance(sent_at, datetime) and isinstance(recorded_at, datetime):
        stage_observed("post", row.signed_at, sent_at)
        stage_observed("answer", sent_at, recorded_at)
    detail = values.get("reason_detail", "")
    if status == CopyTrade.Status.REJECTED:
        log.info("copy %s: the venue rejected the order (%s): %s", row.code, reason, detail)
    elif status == CopyTrade.Status.UNKNOWN:
        log.warning("copy %s: venue fault, outcome unknown (%s): %s; reconciling by hash", row.code, reason, detail)
    elif reason.startswith("retry_later"):
        log.warning("copy %s: venue fault, not placed (%s): %s; the same bytes go again", row.code, reason, detail)


# A venue that answers "halted" is as unusable as one that does not answer: both open the
# breaker. Our own throttling (429) and requests that never left say nothing about the venue.
_UNAVAILABLE = frozenset({"cancel_only", "trading_disabled", "engine_restarting", "post_only_mode"})


def counts_for_breaker(answer: Classification) -> bool:
    return not (answer.kind == "retry_later" and answer.reason in ("not_sent", "rate_limited"))


def is_failure(answer: Classification) -> bool:
    return answer.kind == "unknown" or (answer.kind == "retry_later" and answer.reason in _UNAVAILABLE)


def _renew(rows: list[CopyTrade]) -> set[int]:
    """Extend the lease of rows still held; returns the ids this worker no longer holds."""
    until = timezone.now() + submit_lease()
    kept = write_fenced_each(rows, {row.id: {"lease_until": until} for row in rows})
    return {row.id for row in rows} - kept


def _post(*, row: CopyTrade, payload: SignedOrderPayload) -> Classification | None:
    """POST once; None (and the row handed to the reconciler) when the gateway refused to send."""
    try:
        return order_post(account=row.account, payload=payload)
    except VenueError as exc:
        # Nothing left the process (canary, corrupt payload, custody changed): stays SIGNED for
        # the reconciler, which resends the same bytes once the cause is gone or expires it.
        log.warning("copy trade %s not sent: %s", row.code, exc.reason)
        now = timezone.now()
        values: dict[str, object] = {
            "reason_code": exc.reason[:48],
            "reason_detail": exc.detail[:300],
            "next_check_at": now + resend_backoff(row.submit_count + 1),
            "outcome_unknown_at": row.outcome_unknown_at or now,
            "lease_owner": "",
            "lease_until": None,
        }
        if write_fenced([row], **values):
            hand_back_if_recovering([(row, values)])
        return None


def answer_values(*, row: CopyTrade, answer: Classification) -> dict[str, object]:
    """What the venue's answer writes on the row (and, for a refused API key, the account paused).

    ``row.submit_count`` is the value loaded before this POST was counted: this was POST number
    ``row.submit_count + 1`` of these bytes (the first POST's count is written with SIGNED)."""
    now = timezone.now()
    common: dict[str, object] = {"recorded_at": now, "lease_owner": "", "lease_until": None}
    if answer.kind in ("unknown", "retry_later"):
        common["outcome_unknown_at"] = row.outcome_unknown_at or now
    elif row.outcome_unknown_at is not None and row.outcome_resolved_at is None:
        common["outcome_resolved_at"] = now
    if answer.kind == "placed":
        return {**common, **_placed(row, answer)}
    if answer.kind == "rejected":
        if answer.reason == "unauthorized":
            account_set_paused(
                account=row.account,
                paused=True,
                actor="system:venue",
                reason="the venue refused this account's API key",
            )
        elif answer.reason == "invalid_signature" and row.account.mode == TradingAccount.Mode.SESSION:
            # The deposit wallet no longer accepts our session signer (revoked or expired):
            # every further order would meet the same refusal. Pause at once, say why.
            account_session_lost(account=row.account, detail=answer.detail)
        reason = Reason.KILLED if answer.reason == "killed" else Reason.VENUE_REJECTED
        detail = answer.detail if reason == Reason.KILLED else f"{answer.reason}: {answer.detail}"
        return {
            **common,
            "status": CopyTrade.Status.REJECTED,
            "reason_code": reason,
            "reason_detail": detail[:300],
            "venue_status": answer.reason[:40],
            "finished_at": now,
        }
    if answer.kind == "unknown":
        return {
            **common,
            "status": CopyTrade.Status.UNKNOWN,
            "reason_code": answer.reason[:48],
            "reason_detail": answer.detail[:300],
            "next_check_at": now + UNKNOWN_RECHECK,
        }
    # retry_later: the venue did not take it; the reconciler resends the same bytes after a backoff.
    return {
        **common,
        "reason_code": f"retry_later:{answer.reason}"[:48],
        "reason_detail": answer.detail[:300],
        "next_check_at": now + resend_backoff(row.submit_count + 1),
    }


def _placed(row: CopyTrade, answer: Classification) -> dict[str, object]:
    now = timezone.now()
    status = answer.status
    values: dict[str, object] = {"venue_status": status, "trade_ids": list(answer.trade_ids)}
    if status == "matched":
        shares, usdc = _filled(row, answer)
        values.update(
            status=CopyTrade.Status.FILLED,
            size_matched=shares,
            fill_usdc=usdc,
            fill_price=(usdc / shares).quantize(Decimal("0.0000000001")) if shares else None,
            filled_at=now,
            next_check_at=now + SETTLEMENT_CHECK,
            reason_code="",
            reason_detail="",
        )
    elif status == "delayed":
        values.update(status=CopyTrade.Status.DELAYED, next_check_at=now + UNKNOWN_RECHECK)
    else:
        values.update(status=CopyTrade.Status.LIVE, next_check_at=now + UNKNOWN_RECHECK)
    return values


def _filled(row: CopyTrade, answer: Classification) -> tuple[Decimal, Decimal]:
    """(shares, pUSD) filled at once: a BUY makes pUSD and takes shares; a SELL the reverse."""
    making = answer.making_amount or Decimal(0)
    taking = answer.taking_amount or Decimal(0)
    return (taking, making) if row.side == CopyTrade.Side.BUY else (making, taking)
