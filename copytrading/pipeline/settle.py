"""Fill confirmation: FILLED rows followed through their trades to CONFIRMED (the position
credited) or FAILED (nothing credited), on the deployment's ``<key>.settle`` queue.

Driven by the venue's trade status in bulk: a run takes a disjoint batch of due FILLED rows
(``due.take_due``), asks the venue once per account for that account's trades since the oldest
of its rows was signed (``GET /data/trades``, every page), and decides every row of the account
from that one answer. The confirmed rows are written in one fenced UPDATE and their positions
credited in the same transaction. A full batch first sends a continuation, like recovery.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.metrics import reconciler_decided
from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.batched import write_fenced_each
from copytrading.pipeline.due import take_due
from copytrading.pipeline.fleet import fleet_settlement_enqueue, fleet_settlement_values, operator_of
from copytrading.pipeline.leases import finish, write_fenced
from copytrading.pipeline.positions import Fill, positions_apply_fills
from copytrading.pipeline.recovery import reconciler_decision
from copytrading.pipeline.submit import SETTLEMENT_CHECK
from copytrading.reasons import Reason
from execution.venue.errors import VenueError
from execution.venue.gateway import default_gateway
from execution.venue.lookup import VenueTrade
from execution.venue.services import account_trades

log = logging.getLogger(__name__)

BATCH = 200
SETTLE_GIVE_UP = timedelta(hours=1)
# Trades are read from a minute before the oldest row was signed (clocks differ a little).
CLOCK_MARGIN_S = 60
MAX_PAGES = 20


def settle_due(
    *,
    deployment: Deployment,
    now: datetime | None = None,
    limit: int = BATCH,
    more: Callable[[], None] | None = None,
) -> int:
    """Take a batch of this deployment's due FILLED rows and settle what the venue has settled."""
    now = now or timezone.now()
    rows = take_due(statuses=[CopyTrade.Status.FILLED], now=now, limit=limit, deployment=deployment, due_by=now)
    if len(rows) == limit and more is not None:
        more()
    settle_rows(rows, now=now)
    return len(rows)


def settle_rows(rows: list[CopyTrade], *, now: datetime) -> None:
    """Settle leased FILLED rows: one trades read per account, the outcomes written in bulk."""
    # A fleet copy's trades are its operator wallet's (the maker), read with that wallet's key.
    by_account: dict[tuple[int, str], list[CopyTrade]] = defaultdict(list)
    for row in rows:
        by_account[(row.account_id, operator_of(row))].append(row)
    confirmed: dict[int, Confirmed] = {}
    waiting: list[CopyTrade] = []
    for (_, operator), group in by_account.items():
        account = group[0].account
        if account.is_paper:  # paper fills are confirmed at once; nothing to follow
            continue
        try:
            trades = _account_trades(account, since=min(_signed(row) for row in group), operator=operator)
        except VenueError as exc:
            for row in group:
                reconciler_decision(
                    row, "deferred", f"venue fault ({exc.reason}) reading trades", level=logging.WARNING
                )
            waiting += group
            continue
        except Exception:
            reconciler_decided("error")
            log.exception("settlement of %d row(s) of account %s failed", len(group), account.code)
            write_fenced(group, next_check_at=now + timedelta(minutes=1), lease_owner="", lease_until=None)
            continue
        for row in group:
            outcome = _outcome(row, trades, now=now)
            if isinstance(outcome, Confirmed):
                reconciler_decision(
                    row,
                    "confirmed",
                    f"confirmed on chain: {outcome.shares} shares for {outcome.usdc} pUSD, fee {outcome.fee} pUSD",
                )
                confirmed[row.id] = outcome
            elif outcome == "failed":
                reconciler_decision(
                    row, "settlement_failed", "its trades failed on chain: nothing credited", level=logging.WARNING
                )
                finish([row], status=CopyTrade.Status.FAILED, reason=Reason.SETTLEMENT_FAILED)
            elif outcome == "give_up":
                reconciler_decision(
                    row, "settlement_gave_up", "trades not final after an hour: failed", level=logging.WARNING
                )
                finish(
                    [row],
                    status=CopyTrade.Status.FAILED,
                    reason=Reason.SETTLEMENT_FAILED,
                    detail="trades not final after an hour",
                )
            else:
                reconciler_decided("settling")  # waiting for the chain: counted, not a line every 2 s
                waiting.append(row)
    _confirm([row for row in rows if row.id in confirmed], confirmed, now=now)
    if waiting:
        write_fenced(waiting, next_check_at=now + SETTLEMENT_CHECK, lease_owner="", lease_until=None)


def _signed(row: CopyTrade) -> datetime:
    return row.signed_at or row.created_at


def _account_trades(account: TradingAccount, *, since: datetime, operator: str = "") -> list[VenueTrade]:
    """Every trade of the account matched since ``since`` (a minute's margin), all pages."""
    after = int(since.timestamp()) - CLOCK_MARGIN_S
    trades: list[VenueTrade] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = account_trades(account=account, after=after, cursor=cursor, operator=operator)
        trades += page.trades
        cursor = page.next_cursor
        if cursor is None:
            return trades
    raise VenueError(f"more than {MAX_PAGES} pages of trades since {after}")


@dataclass(frozen=True)
class Confirmed:
    """What the confirmed trades of one order moved: shares, pUSD and the taker fee charged."""

    shares: Decimal
    usdc: Decimal
    fee: Decimal

    def values(self, now: datetime) -> dict[str, object]:
        return {
            "status": CopyTrade.Status.CONFIRMED,
            "size_matched": self.shares,
            "fill_usdc": self.usdc,
            "fee_usdc": self.fee,
            "fill_price": (self.usdc / self.shares).quantize(Decimal("0.0000000001")) if self.shares else None,
            "finished_at": now,
            "lease_owner": "",
            "lease_until": None,
        }


def _outcome(row: CopyTrade, trades: list[VenueTrade], *, now: datetime) -> Confirmed | str:
    """What the confirmed trades moved, or "failed", "give_up" or "wait"."""
    assert row.order_hash is not None
    mine = [t for t in trades if t.size_for_order(row.order_hash) > 0]
    known = {t.trade_id for t in mine}
    complete = bool(mine) and all(str(trade_id) in known for trade_id in row.trade_ids or [])
    if complete and all(t.is_final for t in mine):
        confirmed = [t for t in mine if t.status == "CONFIRMED"]
        if not confirmed:
            return "failed"
        shares = sum((t.size_for_order(row.order_hash) for t in confirmed), Decimal(0))
        usdc = sum((t.usdc_for_order(row.order_hash) for t in confirmed), Decimal(0))
        fees = default_gateway().market_info(row.token_id).fees
        fee = sum((t.taker_fee_for_order(row.order_hash, fees=fees) for t in confirmed), Decimal(0))
        return Confirmed(shares=shares, usdc=usdc, fee=fee)
    if now - (row.filled_at or now) > SETTLE_GIVE_UP:
        return "give_up"
    return "wait"


def _confirm(rows: list[CopyTrade], confirmed: dict[int, Confirmed], *, now: datetime) -> None:
    """Write the confirmed rows in one fenced UPDATE and credit their positions, together."""
    if not rows:
        return
    with transaction.atomic():
        values = {row.id: confirmed[row.id].values(now) for row in rows}
        for row in rows:
            if row.operator_wallet_id is not None:
                # A fleet fill is the operator wallet's until settled: nothing credited yet.
                values[row.id] |= fleet_settlement_values(now)
        written = write_fenced_each(rows, values)
        fleet_settlement_enqueue([row.id for row in rows if row.id in written and row.operator_wallet_id is not None])
        # Every position of the batch credited together, locked in one order (positions.py).
        credited = [row for row in rows if row.id in written and row.operator_wallet_id is None]
        positions_apply_fills(
            [Fill(trade=row, shares=c.shares, usdc=c.usdc, fee=c.fee) for row in credited for c in [confirmed[row.id]]]
        )
