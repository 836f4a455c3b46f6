"""Data API ``GET /positions``: a wallet's open positions with their cost and P&L, as the real one
shows them (the Data API's row fields), computed from what the venue knows.

Average price, amount bought and realised P&L come from the wallet's trades (``/activity`` rows:
injected leader trades and settled fills, oldest first, average-cost method); the size held is the
ledger's balance when the venue holds one for the token (a wallet that trades here), otherwise
what its trades add up to (an injected leader). The current price is the book's midpoint, else its
last trade, else the average price. Closed or resolved positions are not listed (the real API has
``/closed-positions`` for those), nor sizes under ``sizeThreshold`` (default 1, as documented).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .constants import BASE_UNITS
from .engine import Engine
from .errors import VenueError
from .models import Market, price_decimal

SIX = Decimal("0.000001")
ZERO = Decimal(0)
_SORTS = {
    "CURRENT": "currentValue",
    "INITIAL": "initialValue",
    "TOKENS": "size",
    "CASHPNL": "cashPnl",
    "PERCENTPNL": "percentPnl",
    "TITLE": "title",
    "PRICE": "curPrice",
    "AVGPRICE": "avgPrice",
    "RESOLVING": "endDate",
}


@dataclass
class _Holding:
    shares: Decimal = ZERO
    cost: Decimal = ZERO
    bought: Decimal = ZERO
    bought_cost: Decimal = ZERO
    realized: Decimal = ZERO

    def apply(self, side: str, size: Decimal, price: Decimal) -> None:
        if side == "BUY":
            self.shares += size
            self.cost += size * price
            self.bought += size
            self.bought_cost += size * price
            return
        sold = min(size, self.shares)
        if sold <= 0:
            return  # shares from before anything the venue saw: nothing to realise against
        average = self.cost / self.shares
        self.realized += (price - average) * sold
        self.cost -= average * sold
        self.shares -= sold


def positions(engine: Engine, params: Mapping[str, str]) -> list[dict[str, object]]:
    user = (params.get("user") or "").lower()
    if not user:
        raise VenueError("user is required")
    holdings: dict[str, _Holding] = {}
    for row in sorted(engine.activity.get(user, ()), key=lambda r: (r.timestamp, r.sequence)):
        if row.visible:
            holdings.setdefault(row.token_id, _Holding()).apply(row.side, row.size, row.price)
    account = engine.ledger.known().get(user)
    if account is not None:
        for token_id, units in account.shares.items():
            holding = holdings.setdefault(token_id, _Holding())
            held = Decimal(units) / BASE_UNITS
            if held != holding.shares:
                # Balances set outside trading (a seeded wallet) keep the traded average price.
                holding.cost = holding.cost / holding.shares * held if holding.shares else ZERO
                holding.shares = held
    markets = {m.strip().lower() for m in (params.get("market") or "").split(",") if m.strip()}
    threshold = _decimal(params.get("sizeThreshold"), Decimal(1))
    rows = []
    for token_id, holding in holdings.items():
        market = engine.markets_by_token.get(token_id)
        if market is None or holding.shares <= 0 or holding.shares < threshold:
            continue
        if markets and market.condition_id not in markets:
            continue
        rows.append(_row(engine, user, token_id, market, holding))
    key = _SORTS.get((params.get("sortBy") or "TOKENS").upper(), "size")
    rows.sort(key=lambda r: r[key], reverse=(params.get("sortDirection") or "DESC").upper() != "ASC")  # type: ignore[arg-type,return-value]
    limit = min(int(_decimal(params.get("limit"), Decimal(100))), 500)
    offset = min(int(_decimal(params.get("offset"), ZERO)), 10_000)
    return rows[offset : offset + limit]


def _row(engine: Engine, user: str, token_id: str, market: Market, holding: _Holding) -> dict[str, object]:
    outcome, index = market.outcome_of(token_id)
    average = holding.cost / holding.shares
    current = _current_price(engine, token_id) or average
    initial_value = holding.shares * average
    current_value = holding.shares * current
    cash_pnl = current_value - initial_value
    opposite = next((t for t in market.tokens if t.token_id != token_id), None)
    return {
        "proxyWallet": user,
        "asset": token_id,
        "conditionId": market.condition_id,
        "size": _q(holding.shares),
        "avgPrice": _q(average),
        "initialValue": _q(initial_value),
        "currentValue": _q(current_value),
        "cashPnl": _q(cash_pnl),
        "percentPnl": _q(cash_pnl / initial_value * 100) if initial_value else ZERO,
        "totalBought": _q(holding.bought),
        "realizedPnl": _q(holding.realized),
        "percentRealizedPnl": _q(holding.realized / holding.bought_cost * 100) if holding.bought_cost else ZERO,
        "curPrice": _q(current),
        "redeemable": False,
        "mergeable": False,
        "title": market.title,
        "slug": market.slug,
        "icon": market.icon,
        "eventSlug": market.event_slug,
        "eventId": "",
        "outcome": outcome,
        "outcomeIndex": index,
        "oppositeOutcome": opposite.outcome if opposite else "",
        "oppositeAsset": opposite.token_id if opposite else "",
        "endDate": "",
        "negativeRisk": market.neg_risk,
    }


def _current_price(engine: Engine, token_id: str) -> Decimal | None:
    book = engine.books[token_id]
    bid, ask = book.best("BUY"), book.best("SELL")
    if bid is not None and ask is not None:
        return (price_decimal(bid) + price_decimal(ask)) / 2
    last = book.last_trade_price_e4
    return price_decimal(last) if last is not None else None


def _q(value: Decimal) -> Decimal:
    return value.quantize(SIX).normalize() + 0


def _decimal(raw: str | None, default: Decimal) -> Decimal:
    if raw is None or raw == "":
        return default
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise VenueError("invalid query parameter") from None
    if not value.is_finite() or value < 0:
        raise VenueError("invalid query parameter")
    return value
