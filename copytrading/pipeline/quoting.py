"""Market facts and the book for each row's token, from the venue's caches (one fetch per token
per batch at most, book at most 5 s old)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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
        best = book.best_ask if row.side == CopyTrade.Side.BUY else book.best_bid
        quotes[row.id] = Quote(market=market, book=book, best_price=best)
    return quotes
