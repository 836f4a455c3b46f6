"""What copying would have made: a leader's recorded trades through the copy pipeline's own rules.

Every decision is taken by the functions the live pipeline takes it with — fan-out's
``copy_skip_reason``, ``execution.sizing`` (``target_usdc``, ``sell_shares``, ``protect``), the
gate (``follow_gate_inputs`` + ``execution.guardrails.evaluate``) with the platform's limits, the
paper fill (``simulate_fill``, with the market's fee curve) and the position arithmetic
(``holding_after_fill``). Nothing is sized twice.

What the backtest has to assume, because history keeps no order books: each copy meets the book
at the leader's recorded price (the price the leader traded at is the best price left), deep
enough for the copy; copies go out at once (never stale); the follow is the account's only one
(the account's daily cap counts this follow's spend only); switches and pauses are off.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from copytrading.fanout import copy_skip_reason
from copytrading.follows import FollowSettings, market_list_reason
from copytrading.leaders.stats import HistoricTrade
from copytrading.markets import MarketName
from copytrading.models import CopyRelationship, CopyTrade
from copytrading.pipeline.context import follow_gate_inputs
from copytrading.pipeline.exposure import Exposure
from copytrading.pipeline.positions import holding_after_fill
from copytrading.pnl import Fill, Point, pnl_series
from copytrading.reasons import Reason
from execution.guardrails import GateInputs, evaluate
from execution.models import GuardrailSettings
from execution.sizing import CopySize, Skip, protect, sell_shares, target_usdc
from execution.venue.markets import BookLevel, OrderBook
from execution.venue.orders import FeeSchedule
from execution.venue.paper import simulate_fill

ZERO = Decimal(0)
S = CopyTrade.Status
# One follow, one account: ids only key the gate's exposure maps.
FOLLOW_ID, ACCOUNT_ID = 1, 1
DEEP = Decimal(10) ** 12
TICKS = (Decimal("0.01"), Decimal("0.001"), Decimal("0.0001"))


@dataclass(frozen=True)
class MarketFacts:
    tick: Decimal
    fees: FeeSchedule
    fees_known: bool


def market_facts(trades: list[HistoricTrade], names: dict[str, MarketName]) -> dict[str, MarketFacts]:
    """Tick and fee curve per token from the stored market names; for a market not named yet the
    tick is the coarsest grid its recorded prices sit on and the fee is counted as zero."""
    prices: dict[str, list[Decimal]] = defaultdict(list)
    for trade in trades:
        prices[trade.token_id].append(trade.price)
    facts = {}
    for token, seen in prices.items():
        name = names.get(token)
        tick = name.tick if name is not None and name.tick else _grid(seen)
        fees = name.fees if name is not None else None
        facts[token] = MarketFacts(tick=tick, fees=fees or FeeSchedule(), fees_known=fees is not None)
    return facts


def _grid(prices: list[Decimal]) -> Decimal:
    return next((tick for tick in TICKS if all(p % tick == 0 for p in prices)), TICKS[-1])


@dataclass(frozen=True)
class Decision:
    """One leader trade and what the follow would have done, in the pipeline's own terms."""

    trade: HistoricTrade
    status: str  # a CopyTrade status: confirmed (filled), skipped, blocked, rejected
    reason: str = ""
    detail: str = ""
    limit_price: Decimal | None = None
    notional: Decimal | None = None  # planned pUSD: spent on a BUY, the floor of a SELL's proceeds
    shares: Decimal = ZERO
    usdc: Decimal = ZERO
    fee: Decimal = ZERO

    @property
    def filled(self) -> bool:
        return self.status == S.CONFIRMED and self.shares > 0

    @property
    def words(self) -> str:
        if self.filled:
            return "copied"
        label = Reason(self.reason).label if self.reason in Reason.values else self.reason
        return f"{CopyTrade.Status(self.status).label.lower()}: {label}"


@dataclass
class BacktestResult:
    decisions: list[Decision]
    points: list[Point]
    fees_known: bool = True
    positions: dict[str, Decimal] = field(default_factory=dict)

    @property
    def copies(self) -> int:
        return sum(1 for d in self.decisions if d.filled)

    @property
    def not_copied(self) -> list[tuple[str, int]]:
        """(plain reason, count), most frequent first."""
        return Counter(d.words for d in self.decisions if not d.filled).most_common()

    @property
    def spent(self) -> Decimal:
        return sum((d.usdc + d.fee for d in self.decisions if d.filled and d.trade.side == "BUY"), ZERO)

    @property
    def fees(self) -> Decimal:
        return sum((d.fee for d in self.decisions if d.filled), ZERO)

    @property
    def pnl(self) -> Decimal:
        return self.points[-1].pnl if self.points else ZERO

    @property
    def busiest_day(self) -> tuple[datetime | None, Decimal]:
        per_day: dict[datetime, Decimal] = defaultdict(Decimal)
        for d in self.decisions:
            if d.filled and d.trade.side == "BUY":
                per_day[_day(d.trade.at)] += d.usdc + d.fee
        if not per_day:
            return None, ZERO
        day = max(per_day, key=lambda k: per_day[k])
        return day, per_day[day]


def backtest_run(
    *,
    trades: list[HistoricTrade],
    settings: FollowSettings,
    limits: GuardrailSettings,
    facts: dict[str, MarketFacts],
    now: datetime,
) -> BacktestResult:
    """Replay ``trades`` (oldest first) for one follow with ``settings``."""
    book = _Book()
    decisions = [_decide(trade, settings, limits, facts[trade.token_id], book) for trade in trades]
    fills = [
        Fill(at=d.trade.at, token_id=d.trade.token_id, side=d.trade.side, shares=d.shares, usdc=d.usdc, fee=d.fee,
             price=d.usdc / d.shares)
        for d in decisions
        if d.filled
    ]  # fmt: skip
    last_price = {t.token_id: t.price for t in trades}  # marked at the leader's last recorded price
    return BacktestResult(
        decisions=decisions,
        points=pnl_series(fills, marks=last_price, now=now),
        fees_known=all(facts[t.token_id].fees_known for t in trades),
        positions={token: shares for token, shares in book.shares.items() if shares > 0},
    )


@dataclass
class _Book:
    """The follow's state as the pipeline keeps it in the database: positions, mirrored leader
    shares (what copy sells are sized from) and what was committed each day."""

    shares: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    cost: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    leader_bought: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    leader_sold: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    day_spent: dict[datetime, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def exposure(self, at: datetime, token_id: str) -> Exposure:
        exposure = Exposure()
        spent = self.day_spent[_day(at)]
        exposure.follow_today[FOLLOW_ID] += spent
        exposure.account_today[ACCOUNT_ID] += spent
        exposure.follow_market[(FOLLOW_ID, token_id)] += self.cost[token_id]
        exposure.account_market[(ACCOUNT_ID, token_id)] += self.cost[token_id]
        return exposure


def _decide(
    trade: HistoricTrade, settings: FollowSettings, limits: GuardrailSettings, facts: MarketFacts, book: _Book
) -> Decision:
    token = trade.token_id
    skipped = copy_skip_reason(
        settings=settings,
        side=trade.side,
        price=trade.price,
        token_id=token,
        condition_id=trade.condition_id,
        holds=book.shares[token] > 0,
    )
    if skipped:
        return Decision(trade, S.SKIPPED, skipped)
    if trade.side == "BUY":
        amount = target_usdc(
            mode=settings.sizing_mode,
            value=settings.sizing_value,
            leader_usdc=trade.usdc,
            min_usdc=settings.min_usdc_per_trade,
            max_usdc=settings.max_usdc_per_trade,
        )
        pre_notional = amount
    else:
        remaining = book.leader_bought[token] - book.leader_sold[token]
        amount = sell_shares(holding=book.shares[token], leader_sold=trade.shares, leader_bought=remaining)
        pre_notional = amount * trade.price
    lane = "exit" if trade.side == "SELL" else "copy"
    verdict = evaluate(_gate(lane, limits, settings, pre_notional, token, exposure=None))
    if not verdict.allowed:
        return Decision(trade, S.BLOCKED, verdict.reason, verdict.detail)
    listed = market_list_reason(settings, token_id=token, condition_id=trade.condition_id)
    if listed:
        return Decision(trade, S.SKIPPED, listed)
    sized = protect(
        side=trade.side,
        amount=amount,
        leader_price=trade.price,
        slippage_bps=settings.slippage_bps,
        tick=facts.tick,
        best_price=trade.price,
    )
    if isinstance(sized, Skip):
        return Decision(trade, S.SKIPPED, sized.reason, sized.detail)
    # The caps count the most taker fee the order can pay, as execute does (pipeline.execute).
    fee = (
        facts.fees.worst_buy_fee(usdc=sized.amount, max_price=sized.limit_price, tick=facts.tick)
        if trade.side == "BUY"
        else ZERO
    )
    verdict = evaluate(
        _gate(lane, limits, settings, sized.notional_usdc, token, exposure=book.exposure(trade.at, token), fee=fee)
    )
    if not verdict.allowed:
        return Decision(trade, S.BLOCKED, verdict.reason, verdict.detail, sized.limit_price, sized.notional_usdc)
    return _fill(trade, sized, settings, facts, book)


def _gate(
    lane: str,
    limits: GuardrailSettings,
    settings: FollowSettings,
    notional: Decimal,
    token: str,
    *,
    exposure: Exposure | None,
    fee: Decimal = ZERO,
) -> GateInputs:
    return follow_gate_inputs(
        lane=lane,
        switches=frozenset(),
        limits=limits,
        breaker_open=False,
        leader_paused=False,
        follow_paused=False,
        account_paused=False,
        notional=notional,
        follow_id=FOLLOW_ID,
        account_id=ACCOUNT_ID,
        token_id=token,
        follow_daily_cap=settings.daily_cap_usdc,
        follow_market_cap=settings.max_position_usdc_per_market,
        exposure=exposure,
        fee=fee,
    )


def _fill(trade: HistoricTrade, sized: CopySize, settings: FollowSettings, facts: MarketFacts, book: _Book) -> Decision:
    side: Literal["BUY", "SELL"] = "BUY" if trade.side == "BUY" else "SELL"
    level = (BookLevel(price=trade.price, size=DEEP),)
    at_leader = OrderBook(token_id=trade.token_id, market=trade.condition_id, asks=level, bids=level)
    order_type: Literal["FAK", "FOK"] = "FOK" if settings.order_type == CopyRelationship.OrderType.FOK else "FAK"
    fill = simulate_fill(
        book=at_leader,
        side=side,
        limit_price=sized.limit_price,
        order_type=order_type,
        fees=facts.fees,
        amount=sized.amount if side == "BUY" else None,
        shares=sized.amount if side == "SELL" else None,
    )
    if fill.killed:
        return Decision(trade, S.REJECTED, Reason.KILLED, "", sized.limit_price, sized.notional_usdc)
    token = trade.token_id
    after = holding_after_fill(
        side=side, held=book.shares[token], cost=book.cost[token], shares=fill.shares, usdc=fill.notional, fee=fill.fee
    )
    book.shares[token], book.cost[token] = after.shares, after.cost
    if side == "BUY":
        book.leader_bought[token] += trade.shares
        book.day_spent[_day(trade.at)] += fill.notional + fill.fee
    else:
        book.leader_sold[token] += trade.shares
    return Decision(
        trade, S.CONFIRMED, "", "", sized.limit_price, sized.notional_usdc, fill.shares, fill.notional, fill.fee
    )


def _day(at: datetime) -> datetime:
    return datetime.combine(at.date(), time.min, tzinfo=at.tzinfo)


@dataclass(frozen=True)
class WorstCase:
    """What settings would have asked for on a leader's recent trades, before any cap."""

    days: int
    trades: int
    largest_copy: Decimal
    largest_leader_trade: HistoricTrade | None
    largest_day: Decimal
    largest_day_at: datetime | None


def worst_case(*, trades: list[HistoricTrade], settings: FollowSettings, days: int, now: datetime) -> WorstCase:
    """The largest single copy and the largest day of copies these settings would ask for on the
    leader's BUYs of the last ``days`` days (``target_usdc``, the pipeline's sizing), with no daily cap."""
    recent = [t for t in trades if t.side == "BUY" and t.at >= now - timedelta(days=days)]
    largest, largest_trade = ZERO, None
    per_day: dict[datetime, Decimal] = defaultdict(Decimal)
    for trade in recent:
        amount = target_usdc(
            mode=settings.sizing_mode,
            value=settings.sizing_value,
            leader_usdc=trade.usdc,
            min_usdc=settings.min_usdc_per_trade,
            max_usdc=settings.max_usdc_per_trade,
        )
        per_day[_day(trade.at)] += amount
        if amount > largest:
            largest, largest_trade = amount, trade
    day = max(per_day, key=lambda k: per_day[k]) if per_day else None
    return WorstCase(
        days=days,
        trades=len(recent),
        largest_copy=largest,
        largest_leader_trade=largest_trade,
        largest_day=per_day[day] if day else ZERO,
        largest_day_at=day,
    )
