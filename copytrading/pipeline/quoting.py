"""Market facts and the book for each row's token, from the venue's caches (one fetch per token
per batch at most, book at most 5 s old)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from copytrading.follows import market_list_reason
from copytrading.models import CopyTrade
from execution.sizing import Skip
from execution.venue.errors import VenueError
from execution.venue.gateway import default_gateway
from execution.venue.markets import OrderBook
from execution.venue.orders import MarketInfo


@dataclass(frozen=True)
class Quote:
    market: MarketInfo
    book: OrderBook
    best_price: Decimal | None  # the price a marketable order of this side would hit first


class Unpriced(Skip):
    """The venue could not be asked right now: the row goes back to wait, it is not skipped."""


def quote_rows(rows: list[CopyTrade]) -> dict[int, Quote | Skip]:
    by_token: dict[str, tuple[MarketInfo, OrderBook] | Skip] = {}
    gateway = default_gateway()
    for token in {row.token_id for row in rows}:
        try:
            market = gateway.market_info(token)
            by_token[token] = (market, gateway.book(token))
        except VenueError as exc:
            by_token[token] = Unpriced("venue_unavailable", exc.detail)
    quotes: dict[int, Quote | Skip] = {}
    for row in rows:
        found = by_token[row.token_id]
        if isinstance(found, Skip):
            quotes[row.id] = found
            continue
        market, book = found
        if market.accepting_orders is False:
            quotes[row.id] = Skip("market_closed", "")
            continue
        listed = _market_list_skip(row, market)
        if listed is not None:
            quotes[row.id] = listed
            continue
        best = book.best_ask if row.side == CopyTrade.Side.BUY else book.best_bid
        quotes[row.id] = Quote(market=market, book=book, best_price=best)
    return quotes


def _market_list_skip(row: CopyTrade, market: MarketInfo) -> Skip | None:
    """The follow's allow/deny lists against the market's condition id as the venue knows it.

    Fan-out already applied them with what the leader trade carried, but a trade seen on chain
    has only its token id: a deny list of condition ids must hold for it too. Protective exits
    (no leader trade) are never held back: they close a position the follower already has.
    """
    if row.leader_trade_id is None:
        return None
    reason = market_list_reason(row.relationship, token_id=row.token_id, condition_id=market.condition_id)
    return Skip(reason, f"market {market.condition_id}") if reason else None
