"""The matching engine: books, orders, fills, balances and the life of each trade.

Every method expects the caller (Venue) to hold its lock. Placement plans the fills first without
touching anything, checks that everyone can pay, and only then commits, so a refused order leaves
no trace. Time-driven work (taker delays, GTD expiry, trade settlement) sits in one heap and runs
in `run_due`, which the server calls on a short timer and before answering anything time-sensitive.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from . import errors
from .accounts import Ledger
from .book import Book
from .constants import PRICE_UNITS
from .errors import VenueError
from .intake import Intake
from .models import ActivityRow, Market, Order, Trade, TradeStatus, price_decimal, units_decimal

# A budget-limited BUY counts as fully filled when what is left cannot buy anything at its price.
_BUDGET_DUST = 1


@dataclass(slots=True)
class _Fill:
    maker: Order
    shares: int
    usdc: int
    fee: int


@dataclass(slots=True)
class _Plan:
    fills: list[_Fill]
    stale: list[Order]
    complete: bool
    usdc: int
    fee: int


def taker_fee(shares: int, price_e4: int, market: Market) -> int:
    """shares * rate * (p(1-p))^exponent, floored to 5 decimals as observed on chain (reference §4.8)."""
    if not market.fee_rate:
        return 0
    price = Decimal(price_e4) / PRICE_UNITS
    fee = Decimal(shares) * market.fee_rate * (price * (1 - price)) ** market.fee_exponent
    return int(fee // 10) * 10


class Engine:
    def __init__(self, *, ledger: Ledger, seed: int) -> None:
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.markets: dict[str, Market] = {}
        self.markets_by_token: dict[str, Market] = {}
        self.books: dict[str, Book] = {}
        self.orders: dict[str, Order] = {}
        # What open orders hold back, per wallet and per (wallet, token); kept incrementally so a
        # wallet with thousands of resting orders still places in constant time.
        self._reserved_pusd: dict[str, int] = {}
        self._reserved_shares: dict[tuple[str, str], int] = {}
        self.orders_by_owner: dict[str, dict[str, Order]] = {}
        self.trades: dict[str, Trade] = {}
        self.trades_by_owner: dict[str, list[Trade]] = {}
        self.activity: dict[str, list[ActivityRow]] = {}
        self.mined_after_s: float | None = 0.5
        self.confirmed_after_s: float | None = 2.0
        # Asked once per new trade: True makes it settle RETRYING → FAILED (set by the Venue's faults).
        self.trade_should_fail: Callable[[], bool] = lambda: False
        # Told of every match (one taker order, its trades) when a chain settles them; then the
        # chain, not the timers, moves the trades on.
        self.on_match: Callable[[Order, Market, list[Trade]], None] | None = None
        self._heap: list[tuple[float, int, str, str]] = []
        self._sequence = itertools.count(1)

    # -- set-up ---------------------------------------------------------------------------------

    def add_market(self, market: Market) -> None:
        self.markets[market.condition_id] = market
        for token in market.tokens:
            self.markets_by_token[token.token_id] = market
            self.books.setdefault(token.token_id, Book(token.token_id))

    def next_sequence(self) -> int:
        return next(self._sequence)

    def random_hash(self) -> str:
        return "0x" + self.rng.getrandbits(256).to_bytes(32, "big").hex()

    def set_house_levels(
        self,
        token_id: str,
        *,
        house: str,
        bids: Iterable[tuple[int, int]],
        asks: Iterable[tuple[int, int]],
        replenish: bool,
        now: float,
    ) -> None:
        """Replace the house wallet's resting liquidity on a token; other wallets' orders stay."""
        book = self.books[token_id]
        market = self.markets_by_token[token_id]
        for order in [o for o in book.orders() if o.house]:
            order.status = "CANCELED"
            book.remove(order)
            self.orders.pop(order.order_id, None)
        for side, levels in (("BUY", bids), ("SELL", asks)):
            for price_e4, size in levels:
                if size <= 0:
                    continue
                order = Order(
                    order_id=self.random_hash(),
                    owner="",
                    maker=house,
                    signer=house,
                    condition_id=market.condition_id,
                    token_id=token_id,
                    side=side,  # type: ignore[arg-type]
                    price_e4=price_e4,
                    maker_amount=0,
                    taker_amount=0,
                    original_size=size,
                    order_type="GTC",
                    expiration=0,
                    created_at=int(now),
                    sequence=self.next_sequence(),
                    house=True,
                    replenish=replenish,
                )
                self.orders[order.order_id] = order
                book.add(order)

    # -- reservations and funds -----------------------------------------------------------------

    def _retain(self, order: Order) -> None:
        """Hold back what an open order may still need: pUSD for a bid, shares for an ask."""
        if order.house or not order.is_open:
            return
        if order.side == "BUY":
            order.held = (
                order.maker_amount
                if order.status == "DELAYED"
                else -(-max(order.remaining, 0) * order.price_e4 // PRICE_UNITS)
            )
            self._reserved_pusd[order.maker] = self._reserved_pusd.get(order.maker, 0) + order.held
        else:
            order.held = order.maker_amount if order.status == "DELAYED" else max(order.remaining, 0)
            key = (order.maker, order.token_id)
            self._reserved_shares[key] = self._reserved_shares.get(key, 0) + order.held

    def _release(self, order: Order) -> None:
        if not order.held:
            return
        if order.side == "BUY":
            self._reserved_pusd[order.maker] -= order.held
        else:
            self._reserved_shares[(order.maker, order.token_id)] -= order.held
        order.held = 0

    def available(self, maker: str, token_id: str, exclude: Order | None = None) -> tuple[int, int]:
        """(pUSD, shares of `token_id`) a wallet can still commit, net of its open orders."""
        account = self.ledger.account(maker)
        pusd = self._reserved_pusd.get(maker, 0)
        shares = self._reserved_shares.get((maker, token_id), 0)
        if exclude is not None and exclude.held:
            if exclude.side == "BUY":
                pusd -= exclude.held
            else:
                shares -= exclude.held
        return account.pusd - pusd, account.shares.get(token_id, 0) - shares

    def _check_funds(self, order: Order, fee: int) -> None:
        account = self.ledger.account(order.maker)
        needed = order.maker_amount + fee if order.side == "BUY" else order.maker_amount
        if not account.approved:
            raise VenueError(errors.balance_too_low(0, needed))
        pusd, shares = self.available(order.maker, order.token_id, exclude=order)
        if order.side == "BUY":
            if needed > pusd:
                raise VenueError(errors.balance_too_low(max(pusd, 0), needed))
        elif needed > shares:
            raise VenueError(errors.balance_too_low(max(shares, 0), needed))

    # -- placement ------------------------------------------------------------------------------

    def submit(self, intake: Intake, market: Market, now: float) -> tuple[Order, list[Trade], str]:
        """Accept or refuse an order; (order, trades, "live"|"matched"|"delayed") when accepted."""
        if intake.order_id in self.orders:
            raise VenueError(errors.DUPLICATED)
        order = Order(
            order_id=intake.order_id,
            owner=intake.owner,
            maker=intake.maker,
            signer=intake.signer,
            condition_id=market.condition_id,
            token_id=intake.token_id,
            side=intake.side,
            price_e4=intake.price_e4,
            maker_amount=intake.maker_amount,
            taker_amount=intake.taker_amount,
            original_size=intake.size,
            order_type=intake.order_type,
            expiration=intake.expiration,
            created_at=int(now),
            sequence=self.next_sequence(),
            post_only=intake.post_only,
        )
        book = self.books[order.token_id]
        crosses = self._crosses(order, book)
        if order.post_only and crosses:
            raise VenueError(errors.POST_ONLY_CROSSES)
        if market.taker_delay_ms and crosses:
            self._check_funds(order, 0)
            order.status = "DELAYED"
            order.execute_at = now + market.taker_delay_ms / 1000
            self._store(order)
            self._schedule(order.execute_at, "delayed", order.order_id)
            return order, [], "delayed"
        trades = self._execute(order, market, book, now, refuse=True)
        return order, trades, "matched" if trades else "live"

    def _crosses(self, order: Order, book: Book) -> bool:
        best = book.best("SELL" if order.side == "BUY" else "BUY")
        return best is not None and order.limit_admits(best)

    def _execute(self, order: Order, market: Market, book: Book, now: float, *, refuse: bool) -> list[Trade]:
        """Match `order` against `book` and commit. With `refuse`, kills answer as errors (HTTP path)."""
        plan = self._plan(order, market, book, now)
        self._check_funds(order, plan.fee)
        for stale in plan.stale:
            book.remove(stale)
            self._close(stale, "CANCELED")
        if order.order_type == "FOK" and not plan.complete:
            if refuse:
                raise VenueError(errors.FOK_NOT_FILLED)
            self._close(order, "UNMATCHED")
            return []
        if order.order_type == "FAK" and not plan.fills:
            if refuse:
                raise VenueError(errors.FAK_NOT_FILLED)
            self._close(order, "UNMATCHED")
            return []
        if order.status != "DELAYED":
            self._store(order)
        trades = [self._commit(order, fill, market, book, now) for fill in plan.fills]
        if trades and self.on_match is not None:
            self.on_match(order, market, trades)
        if order.order_type in ("GTC", "GTD") and order.remaining > 0:
            self._release(order)
            order.status = "LIVE"
            self._retain(order)
            book.add(order)
            if order.order_type == "GTD":
                self._schedule(float(order.expiration), "expire", order.order_id)
        else:
            # A marketable BUY spends its pUSD and may take more shares than its size at the limit:
            # the venue never shows more matched than the order's size, so the size is what it took.
            order.original_size = max(order.original_size, order.size_matched)
            self._close(order, "MATCHED")
        return trades

    def _plan(self, order: Order, market: Market, book: Book, now: float) -> _Plan:
        budget_mode = order.side == "BUY" and order.order_type in ("FOK", "FAK")
        budget = order.maker_amount
        wanted = order.taker_amount if order.side == "BUY" else order.maker_amount
        fills: list[_Fill] = []
        stale: list[Order] = []
        committed: dict[str, int] = {}
        total_usdc = total_fee = 0
        for maker in book.opposite(order.side):
            if not maker.is_open or maker.remaining <= 0:
                continue
            if maker.expiration and maker.expiration <= now:
                stale.append(maker)
                continue
            price = maker.price_e4
            if not order.limit_admits(price):
                break
            if budget_mode:
                shares = min(maker.remaining, budget * PRICE_UNITS // price)
            else:
                shares = min(maker.remaining, wanted)
            usdc = shares * price // PRICE_UNITS
            if shares <= 0 or usdc <= 0:
                break
            if not maker.house and not self._maker_can_pay(maker, shares, usdc, committed):
                stale.append(maker)
                continue
            fee = taker_fee(shares, price, market)
            fills.append(_Fill(maker, shares, usdc, fee))
            total_usdc += usdc
            total_fee += fee
            if budget_mode:
                budget -= usdc
            else:
                wanted -= shares
            if (budget_mode and budget <= _BUDGET_DUST) or (not budget_mode and wanted == 0):
                break
        complete = budget <= _BUDGET_DUST if budget_mode else wanted == 0
        return _Plan(fills, stale, complete, total_usdc, total_fee)

    def _maker_can_pay(self, maker: Order, shares: int, usdc: int, committed: dict[str, int]) -> bool:
        account = self.ledger.account(maker.maker)
        if not account.approved:
            return False
        key = maker.maker + (":" + maker.token_id if maker.side == "SELL" else "")
        need = committed.get(key, 0) + (shares if maker.side == "SELL" else usdc)
        have = account.shares.get(maker.token_id, 0) if maker.side == "SELL" else account.pusd
        if need > have:
            return False
        committed[key] = need
        return True

    def _commit(self, order: Order, fill: _Fill, market: Market, book: Book, now: float) -> Trade:
        maker, shares, usdc, fee = fill.maker, fill.shares, fill.usdc, fill.fee
        ledger = self.ledger
        if order.side == "BUY":
            ledger.move_pusd(order.maker, -(usdc + fee))
            ledger.move_shares(order.maker, order.token_id, shares)
            ledger.move_shares(maker.maker, order.token_id, -shares)
            ledger.move_pusd(maker.maker, usdc)
        else:
            ledger.move_shares(order.maker, order.token_id, -shares)
            ledger.move_pusd(order.maker, usdc - fee)
            ledger.move_pusd(maker.maker, -usdc)
            ledger.move_shares(maker.maker, order.token_id, shares)
        ledger.fees_collected += fee
        outcome, outcome_index = market.outcome_of(order.token_id)
        trade = Trade(
            trade_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            taker_order_id=order.order_id,
            condition_id=market.condition_id,
            token_id=order.token_id,
            outcome=outcome,
            side=order.side,
            size=shares,
            price_e4=maker.price_e4,
            usdc=usdc,
            fee=fee,
            fee_rate_bps=market.fee_rate * 10_000,
            taker_owner=order.owner,
            taker_address=order.maker,
            maker_order_id=maker.order_id,
            maker_owner=maker.owner,
            maker_address=maker.maker,
            maker_side=maker.side,
            match_time=int(now),
            last_update=int(now),
            sequence=self.next_sequence(),
        )
        trade.fail = self.trade_should_fail()
        self._release(maker)
        self._release(order)
        if maker.replenish:
            maker.original_size += shares
        maker.size_matched += shares
        if not maker.house:
            maker.associate_trades.append(trade.trade_id)
        if maker.remaining <= 0:
            book.remove(maker)
            self._close(maker, "MATCHED")
        else:
            self._retain(maker)
        order.size_matched += shares
        self._retain(order)
        order.associate_trades.append(trade.trade_id)
        book.last_trade_price_e4 = maker.price_e4
        self.trades[trade.trade_id] = trade
        self.trades_by_owner.setdefault(order.owner, []).append(trade)
        if not maker.house:
            self.trades_by_owner.setdefault(maker.owner, []).append(trade)
        self._record_activity(order.maker, trade, market, side=order.side, taker=True, outcome_index=outcome_index)
        if not maker.house:
            self._record_activity(maker.maker, trade, market, side=maker.side, taker=False, outcome_index=outcome_index)
        if self.mined_after_s is not None and self.on_match is None:
            trade.due_at = now + self.mined_after_s
            if self.confirmed_after_s is not None:
                trade.confirm_due_at = now + max(self.confirmed_after_s, self.mined_after_s)
            self._schedule(trade.due_at, "trade", f"{trade.trade_id}|MATCHED")
        return trade

    def _record_activity(
        self, wallet: str, trade: Trade, market: Market, *, side: str, taker: bool, outcome_index: int
    ) -> None:
        row = ActivityRow(
            wallet=wallet,
            token_id=trade.token_id,
            condition_id=trade.condition_id,
            side=side,  # type: ignore[arg-type]
            size=units_decimal(trade.size),
            price=price_decimal(trade.price_e4),
            timestamp=trade.match_time,
            transaction_hash="",
            taker=taker,
            sequence=trade.sequence,
            trade=trade,
            title=market.title,
            slug=market.slug,
            event_slug=market.event_slug,
            icon=market.icon,
            outcome=trade.outcome,
            outcome_index=outcome_index,
        )
        self.activity.setdefault(wallet, []).append(row)

    def _store(self, order: Order) -> None:
        self.orders[order.order_id] = order
        self.orders_by_owner.setdefault(order.owner, {})[order.order_id] = order
        self._retain(order)

    def _close(self, order: Order, status: str) -> None:
        self._release(order)
        order.status = status  # type: ignore[assignment]

    def cancel(self, order: Order) -> bool:
        if not order.is_open or order.status == "DELAYED":
            return False
        self.books[order.token_id].remove(order)
        self._close(order, "CANCELED")
        return True

    # -- time -----------------------------------------------------------------------------------

    def _schedule(self, due: float, kind: str, ref: str) -> None:
        heapq.heappush(self._heap, (due, self.next_sequence(), kind, ref))

    def schedule_settlement(self, trade: Trade, due: float) -> None:
        self._schedule(due, "trade", f"{trade.trade_id}|{trade.status}")

    def run_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            _due, _seq, kind, ref = heapq.heappop(heap)
            if kind == "trade":
                # The entry names the status it expects, so a trade moved by hand meanwhile is left alone.
                trade_id, _sep, expected = ref.partition("|")
                trade = self.trades.get(trade_id)
                if trade is not None and trade.status == expected:
                    self._settle_step(trade, now)
            elif kind == "delayed":
                order = self.orders.get(ref)
                if order is not None and order.status == "DELAYED":
                    self._run_delayed(order, now)
            elif kind == "expire":
                order = self.orders.get(ref)
                if order is not None and order.status == "LIVE":
                    self.books[order.token_id].remove(order)
                    self._close(order, "CANCELED")

    def _run_delayed(self, order: Order, now: float) -> None:
        market = self.markets_by_token[order.token_id]
        try:
            self._execute(order, market, self.books[order.token_id], now, refuse=False)
        except VenueError:
            self._close(order, "UNMATCHED")

    def _settle_step(self, trade: Trade, now: float) -> None:
        self.advance_trade(trade, now)
        if trade.status in ("MINED", "RETRYING") and trade.confirm_due_at is not None:
            self._schedule(trade.confirm_due_at, "trade", f"{trade.trade_id}|{trade.status}")

    def advance_trade(self, trade: Trade, now: float, target: TradeStatus | None = None) -> None:
        """Move a trade one step (or up to `target`): MATCHED → MINED → CONFIRMED, or → RETRYING → FAILED."""
        while True:
            if trade.status == "MATCHED":
                trade.status = "RETRYING" if trade.fail else "MINED"
                if not trade.fail:
                    trade.transaction_hash = self.random_hash()
            elif trade.status == "MINED":
                trade.status = "CONFIRMED"
            elif trade.status == "RETRYING":
                trade.status = "FAILED"
                self._revert(trade)
            else:
                return
            trade.last_update = int(now)
            if target is None or trade.status == target or trade.status in ("CONFIRMED", "FAILED"):
                return

    def _revert(self, trade: Trade) -> None:
        """A failed settlement never moved anything on chain: undo the off-chain balance moves."""
        ledger = self.ledger
        if trade.side == "BUY":
            ledger.move_pusd(trade.taker_address, trade.usdc + trade.fee)
            ledger.move_shares(trade.taker_address, trade.token_id, -trade.size)
            ledger.move_shares(trade.maker_address, trade.token_id, trade.size)
            ledger.move_pusd(trade.maker_address, -trade.usdc)
        else:
            ledger.move_shares(trade.taker_address, trade.token_id, trade.size)
            ledger.move_pusd(trade.taker_address, -(trade.usdc - trade.fee))
            ledger.move_pusd(trade.maker_address, trade.usdc)
            ledger.move_shares(trade.maker_address, trade.token_id, -trade.size)
        ledger.fees_collected -= trade.fee
