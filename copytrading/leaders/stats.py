"""A leader's track record from its Data API rows: pure functions, Decimal throughout.

Trades are the Data API's TRADE rows grouped the way detection groups them (all legs of one
transaction per token and side are one trade: ``aggregate_observations``), so the directory, the
backtest and the copy pipeline count the same trades. Realised P&L uses the average-cost method
over everything fetched (the look-back, 90 days): each sell realises (price minus average cost) on the
shares sold; a sell of shares bought before the look-back has no known cost and is left out of
the P&L and the win rate (``unmatched``). Redemptions of resolved markets are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from copytrading.detection.data_api import MalformedRow, parse_trade_row
from copytrading.detection.record import aggregate_observations

ZERO = Decimal(0)
WINDOWS = (7, 30)
LOOKBACK_DAYS = 90


@dataclass(frozen=True)
class HistoricTrade:
    """One leader trade as the Data API recorded it (legs of one transaction summed)."""

    at: datetime
    tx_hash: str
    token_id: str
    condition_id: str
    side: str
    shares: Decimal
    usdc: Decimal
    price: Decimal
    title: str = ""
    outcome: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = int(self.at.timestamp())
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in data.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HistoricTrade:
        return cls(
            at=datetime.fromtimestamp(int(data["at"]), tz=UTC),
            tx_hash=str(data["tx_hash"]),
            token_id=str(data["token_id"]),
            condition_id=str(data.get("condition_id", "")),
            side=str(data["side"]),
            shares=Decimal(str(data["shares"])),
            usdc=Decimal(str(data["usdc"])),
            price=Decimal(str(data["price"])),
            title=str(data.get("title", "")),
            outcome=str(data.get("outcome", "")),
        )


def historic_trades(rows: Iterable[Mapping[str, Any]]) -> list[HistoricTrade]:
    """TRADE rows (``/activity`` or ``/trades``) as trades, oldest first; other rows are ignored."""
    parsed = []
    for row in rows:
        if str(row.get("type") or "TRADE").upper() != "TRADE":
            continue
        try:
            parsed.append(parse_trade_row(row))
        except MalformedRow:
            continue
    names = {p.token_id: (str(p.raw.get("title", "")), str(p.raw.get("outcome", ""))) for p in parsed}
    trades = [
        HistoricTrade(
            at=t.occurred_at,
            tx_hash=t.tx_hash,
            token_id=t.token_id,
            condition_id=t.condition_id,
            side=t.side,
            shares=t.shares,
            usdc=t.usdc,
            price=t.price,
            title=names[t.token_id][0],
            outcome=names[t.token_id][1],
        )
        for t in aggregate_observations(p.observation() for p in parsed)
    ]
    return sorted(trades, key=lambda t: (t.at, t.tx_hash, t.token_id, t.side))


@dataclass(frozen=True)
class WindowStats:
    days: int
    trades: int = 0
    volume_usdc: Decimal = ZERO
    markets: int = 0
    realized_pnl_usdc: Decimal = ZERO
    closed: int = 0  # sells whose cost was known
    wins: int = 0
    unmatched: int = 0  # sells of shares bought before the look-back

    @property
    def win_rate(self) -> Decimal | None:
        """Percent of the closed sells that made money; None before any."""
        return Decimal(self.wins) * 100 / self.closed if self.closed else None


@dataclass(frozen=True)
class TrackRecord:
    windows: dict[int, WindowStats]
    open_positions: int = 0
    open_value_usdc: Decimal = ZERO
    unrealized_pnl_usdc: Decimal = ZERO
    last_trade_at: datetime | None = None
    complete: bool = True
    top_markets: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "windows": {str(d): _jsonable(asdict(w)) for d, w in self.windows.items()},
            "open_positions": self.open_positions,
            "open_value_usdc": str(self.open_value_usdc),
            "unrealized_pnl_usdc": str(self.unrealized_pnl_usdc),
            "last_trade_at": int(self.last_trade_at.timestamp()) if self.last_trade_at else None,
            "complete": self.complete,
            "top_markets": self.top_markets,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrackRecord | None:
        if not data.get("windows"):
            return None
        windows = {
            int(days): WindowStats(
                days=int(w["days"]),
                trades=int(w["trades"]),
                volume_usdc=Decimal(w["volume_usdc"]),
                markets=int(w["markets"]),
                realized_pnl_usdc=Decimal(w["realized_pnl_usdc"]),
                closed=int(w["closed"]),
                wins=int(w["wins"]),
                unmatched=int(w["unmatched"]),
            )
            for days, w in data["windows"].items()
        }
        last = data.get("last_trade_at")
        return cls(
            windows=windows,
            open_positions=int(data.get("open_positions", 0)),
            open_value_usdc=Decimal(data.get("open_value_usdc", "0")),
            unrealized_pnl_usdc=Decimal(data.get("unrealized_pnl_usdc", "0")),
            last_trade_at=datetime.fromtimestamp(int(last), tz=UTC) if last else None,
            complete=bool(data.get("complete", True)),
            top_markets=[str(m) for m in data.get("top_markets", [])],
        )


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in data.items()}


@dataclass(frozen=True)
class _Close:
    at: datetime
    pnl: Decimal


def realized_closes(trades: list[HistoricTrade]) -> tuple[list[_Close], list[datetime]]:
    """Each sell with a known cost and its P&L (average cost), and the times of unmatched sells."""
    held: dict[str, tuple[Decimal, Decimal]] = {}  # token -> (shares, cost)
    closes: list[_Close] = []
    unmatched: list[datetime] = []
    for trade in sorted(trades, key=lambda t: t.at):
        shares, cost = held.get(trade.token_id, (ZERO, ZERO))
        if trade.side == "BUY":
            held[trade.token_id] = (shares + trade.shares, cost + trade.usdc)
            continue
        sold = min(trade.shares, shares)
        if sold <= 0:
            unmatched.append(trade.at)
            continue
        released = cost * sold / shares
        closes.append(_Close(trade.at, trade.price * sold - released))
        held[trade.token_id] = (shares - sold, cost - released)
    return closes, unmatched


def track_record(
    *, trades: list[HistoricTrade], positions: Iterable[Mapping[str, Any]], now: datetime, complete: bool = True
) -> TrackRecord:
    closes, unmatched = realized_closes(trades)
    windows = {}
    for days in WINDOWS:
        since = now - timedelta(days=days)
        recent = [t for t in trades if t.at >= since]
        won = [c for c in closes if c.at >= since]
        windows[days] = WindowStats(
            days=days,
            trades=len(recent),
            volume_usdc=sum((t.usdc for t in recent), ZERO),
            markets=len({t.condition_id or t.token_id for t in recent}),
            realized_pnl_usdc=sum((c.pnl for c in won), ZERO).quantize(Decimal("0.000001")),
            closed=len(won),
            wins=sum(1 for c in won if c.pnl > 0),
            unmatched=sum(1 for at in unmatched if at >= since),
        )
    open_rows = [p for p in positions if _decimal(p.get("size")) > 0]
    volume_by_title: dict[str, Decimal] = {}
    for t in trades:
        if t.at >= now - timedelta(days=30) and t.title:
            volume_by_title[t.title] = volume_by_title.get(t.title, ZERO) + t.usdc
    return TrackRecord(
        windows=windows,
        open_positions=len(open_rows),
        open_value_usdc=sum((_decimal(p.get("currentValue")) for p in open_rows), ZERO),
        unrealized_pnl_usdc=sum((_decimal(p.get("cashPnl")) for p in open_rows), ZERO),
        last_trade_at=max((t.at for t in trades), default=None),
        complete=complete,
        top_markets=[title for title, _ in sorted(volume_by_title.items(), key=lambda kv: -kv[1])[:3]],
    )


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return ZERO
    return number if number.is_finite() else ZERO
