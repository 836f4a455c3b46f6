"""A demo that lives: leader trades keep coming, on the recorded tape's markets and prices.

First the recorded tape's own trades are played again as if they happened now (fresh transaction
hashes and times); then each tape leader keeps trading its markets: prices take small random steps
on the market's tick from the tape's prices, buys are sized like the leader's recorded trades, and
a leader sometimes sells part of what it bought (never twice in a row). Leaders take turns, so
each one trades every ``pace`` x (number of leaders) seconds or so: with the default pace and the
tape's three leaders, whoever follows any of them sees a copy well within a minute. Trades go to
the simulated venue's Data API, exactly as a real leader's would, and detection's Data API poller
finds them. Thirty days of such trades are written into the venue's
history at start, so the leader directory has track records to show.

Deterministic for a seed and a clock (the tests drive it on a simulated clock).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.db import close_old_connections
from django.utils import timezone

from copytrading.models import CopyTrade
from polyhunter.lib.money import format_price, format_shares, format_usd

log = logging.getLogger("polyhunter.demo")
TWO = Decimal("0.01")
MIN_TRADE_USDC = Decimal(5)


class DemoVenue(Protocol):
    def inject_leader_trade(
        self,
        wallet: str,
        token_id: str,
        side: str,
        size: Any,
        price: Any,
        *,
        timestamp: int | None = None,
        transaction_hash: str | None = None,
        taker: bool = True,
        name: str = "",
        pseudonym: str = "",
    ) -> dict[str, object]: ...

    def market(self, token_or_condition: str) -> Any: ...


@dataclass(frozen=True)
class DemoTrade:
    leader: str
    name: str
    token_id: str
    title: str
    outcome: str
    side: str
    shares: Decimal
    price: Decimal
    at: float
    tx_hash: str
    tick: Decimal | None = None

    @property
    def usdc(self) -> Decimal:
        return self.shares * self.price

    def words(self) -> str:
        verb = "bought" if self.side == "BUY" else "sold"
        return (
            f"{self.name} {verb} {format_shares(self.shares)} shares of “{self.title}” ({self.outcome}) "
            f"at {format_price(self.price, tick=self.tick)} — {format_usd(self.usdc)}"
        )


@dataclass
class _Leader:
    address: str
    name: str
    tokens: list[str]
    typical_shares: Decimal


@dataclass
class DemoFeed:
    venue: DemoVenue
    rows: Sequence[Mapping[str, Any]]
    seed: int = 0
    clock: Callable[[], float] = time.time
    pace_seconds: float = 10.0
    rng: random.Random = field(init=False)
    leaders: list[_Leader] = field(init=False)
    prices: dict[str, Decimal] = field(init=False)
    held: dict[tuple[str, str], Decimal] = field(init=False)
    turns: list[str] = field(init=False, default_factory=list)
    last_side: dict[str, str] = field(init=False, default_factory=dict)
    made: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        trades = sorted(
            (r for r in self.rows if str(r.get("type", "TRADE")).upper() == "TRADE" and r.get("asset")),
            key=lambda r: int(r["timestamp"]),
        )
        by_leader: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for row in trades:
            by_leader[str(row["proxyWallet"]).lower()].append(row)
        self.leaders = [
            _Leader(
                address=address,
                name=str(rows[0].get("name") or rows[0].get("pseudonym") or address[:10]),
                tokens=list(dict.fromkeys(str(r["asset"]) for r in rows)),
                typical_shares=max(Decimal(str(r["size"])) for r in rows),
            )
            for address, rows in sorted(by_leader.items(), key=lambda item: -len(item[1]))
        ]
        self.prices = {str(r["asset"]): Decimal(str(r["price"])) for r in trades}
        self.held = defaultdict(Decimal)
        self._tape = trades

    # -- what the demo runs -----------------------------------------------------------------------

    def history(self, *, days: int = 30, per_day: int = 5, until: float | None = None) -> int:
        """Write ``days`` of past trades into the venue (older than an hour: never copied)."""
        end = (until if until is not None else self.clock()) - 3600
        moments = []
        for day in range(days):
            day_start = end - (days - day) * 86_400
            for leader in self.leaders:
                for _ in range(self.rng.randint(max(1, per_day - 3), per_day + 3)):
                    moments.append((day_start + self.rng.uniform(0, 86_400), leader.address))
        for at, address in sorted(moments):  # in time order, so a leader sells only what it bought
            self.next_trade(leader=address, at=at, quiet=True)
        return len(moments)

    def replay_tape(
        self, *, at: float | None = None, gap_seconds: float = 0.0, stop: threading.Event | None = None
    ) -> list[DemoTrade]:
        """The recorded tape's trades once more, as happening now, with fresh transaction hashes
        (identical rows of one transaction are one leg seen twice, as detection counts them)."""
        legs: dict[tuple[str, str, str], dict[tuple[str, str], Mapping[str, Any]]] = defaultdict(dict)
        for row in self._tape:
            key = (str(row.get("transactionHash")), str(row["asset"]), str(row["side"]))
            legs[key].setdefault((str(row["size"]), str(row["price"])), row)
        played = []
        for (_tx, token, side), rows in legs.items():
            first = next(iter(rows.values()))
            leader = next(x for x in self.leaders if x.address == str(first["proxyWallet"]).lower())
            shares = sum((Decimal(size) for size, _price in rows), Decimal(0))
            trade = self._inject(leader, token, side, Decimal(str(first["price"])), shares, at or self.clock())
            log.info("demo: from the recorded tape: %s — copies follow within seconds", trade.words())
            played.append(trade)
            if gap_seconds and stop is not None and stop.wait(gap_seconds):
                break
        return played

    def next_trade(
        self, *, leader: str | None = None, side: str | None = None, at: float | None = None, quiet: bool = False
    ) -> DemoTrade:
        """One new trade of ``leader`` (the next in turn when None), injected into the venue."""
        who = next(x for x in self.leaders if x.address == leader.lower()) if leader else self._next_leader()
        sellable = [t for t in who.tokens if self.held[(who.address, t)] > 0]
        if side is None:
            may_sell = sellable and self.last_side.get(who.address) != "SELL"
            side = "SELL" if may_sell and self.rng.random() < 0.3 else "BUY"
        if side == "SELL" and not sellable:
            side = "BUY"
        token = self.rng.choice(sellable if side == "SELL" else who.tokens)
        price = self._step(token)
        if side == "SELL":
            shares = (self.held[(who.address, token)] * Decimal(self.rng.uniform(0.3, 1.0))).quantize(TWO)
        else:
            shares = (who.typical_shares * Decimal(self.rng.uniform(0.15, 1.2))).quantize(TWO)
            shares = max(shares, (MIN_TRADE_USDC / price).quantize(TWO) + 1)
        trade = self._inject(who, token, side, price, shares, at if at is not None else self.clock())
        if not quiet:
            log.info("demo: %s — copies follow within seconds", trade.words())
        return trade

    def run(self, stop: threading.Event, *, summary_every: float = 60.0) -> None:
        """The recorded tape first (a trade every few seconds), then a new trade every
        ``pace_seconds`` (give or take a third) until ``stop`` is set; a summary in the log each minute."""
        self.replay_tape(gap_seconds=3.0, stop=stop)
        close_old_connections()
        last_summary = self.clock()
        made_at_summary = self.made
        while not stop.wait(self.pace_seconds * self.rng.uniform(0.67, 1.33)):
            try:
                self.next_trade()
                if self.clock() - last_summary >= summary_every:
                    log.info("demo: %s", copies_summary(since=last_summary, leader_trades=self.made - made_at_summary))
                    last_summary, made_at_summary = self.clock(), self.made
            except Exception:  # the demo keeps going; the log says what went wrong
                log.exception("demo: a leader trade could not be made")
            finally:
                close_old_connections()

    # -- how -------------------------------------------------------------------------------------

    def _next_leader(self) -> _Leader:
        if not self.turns:
            self.turns = [leader.address for leader in reversed(self.leaders)]
        address = self.turns.pop()
        return next(leader for leader in self.leaders if leader.address == address)

    def _step(self, token: str) -> Decimal:
        tick = Decimal(self.venue.market(token).tick_size)
        low, high = max(tick, Decimal("0.02")), min(1 - tick, Decimal("0.98"))
        moved = self.prices[token] + tick * self.rng.randint(-3, 3)
        price = min(max(moved, low), high).quantize(tick)
        self.prices[token] = price
        return price

    def _inject(self, leader: _Leader, token: str, side: str, price: Decimal, shares: Decimal, at: float) -> DemoTrade:
        tx_hash = "0x" + self.rng.getrandbits(256).to_bytes(32, "big").hex()
        self.venue.inject_leader_trade(
            leader.address, token, side, str(shares), str(price), timestamp=int(at), transaction_hash=tx_hash,
            name=leader.name,
        )  # fmt: skip
        key = (leader.address, token)
        self.held[key] = max(Decimal(0), self.held[key] + (shares if side == "BUY" else -shares))
        self.last_side[leader.address] = side
        self.prices[token] = price
        self.made += 1
        market = self.venue.market(token)
        outcome = next((o.outcome for o in market.tokens if o.token_id == token), "")
        return DemoTrade(
            leader.address, leader.name, token, market.title.strip(), outcome, side, shares, price, at, tx_hash,
            Decimal(market.tick_size),
        )  # fmt: skip


_SUMMARY_WORDS = {
    CopyTrade.Status.CONFIRMED: "filled",
    CopyTrade.Status.FILLED: "filled",
    CopyTrade.Status.SKIPPED: "skipped",
    CopyTrade.Status.BLOCKED: "blocked by a guardrail",
    CopyTrade.Status.REJECTED: "not filled",
    CopyTrade.Status.EXPIRED: "not filled",
    CopyTrade.Status.CANCELED: "not filled",
    CopyTrade.Status.FAILED: "not filled",
}


def copies_summary(*, since: float, leader_trades: int) -> str:
    """'last minute: 5 leader trades, 9 copies: 6 filled, 2 skipped, 1 blocked by a guardrail'."""
    rows = CopyTrade.objects.filter(created_at__gte=datetime.fromtimestamp(since, tz=UTC))
    counts: dict[str, int] = defaultdict(int)
    for status in rows.values_list("status", flat=True):
        counts[_SUMMARY_WORDS.get(CopyTrade.Status(status), "in flight")] += 1
    total = sum(counts.values())
    detail = ", ".join(f"{n} {words}" for words, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    minutes = max(1, round((timezone.now() - datetime.fromtimestamp(since, tz=UTC)) / timedelta(minutes=1)))
    span = "last minute" if minutes == 1 else f"last {minutes} minutes"
    return f"{span}: {leader_trades} leader trades, {total} copies" + (f": {detail}" if detail else "")


# The feed of this process, when it runs one (embedded demo): the staff console's button uses it.
_running: DemoFeed | None = None


def demo_feed_register(feed: DemoFeed | None) -> None:
    global _running  # one feed per embedded process, set once at start
    _running = feed


def running_demo_feed() -> DemoFeed | None:
    return _running
