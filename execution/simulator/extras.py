"""The rest of the CLOB surface a third-party bot calls: prices in bulk, spreads, last trades,
price history, market listings, heartbeats, per-market cancels, closed-only status,
notifications and order scoring (reference polymarket.md §2.2-§2.4; shapes as the official
client parses them). Read-only over the engine, or through the Venue's own methods; each
handler takes the Venue's lock for what it reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from . import errors, queries, shapes
from .errors import VenueError
from .jsonout import dumps
from .models import ApiCredentials, Market, Order, Trade, price_decimal, units_decimal
from .venue import Venue

MAX_BULK = 500
_INTERVALS = {"1m": 60, "1h": 3600, "6h": 6 * 3600, "1d": 86400, "1w": 7 * 86400, "1mo": 30 * 86400}


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status=status, content_type="application/json"
    )


def _numbers(body: object) -> web.Response:
    return web.Response(body=dumps(body), content_type="application/json")


class Extras:
    """The handlers, bound to the app's Venue key."""

    def __init__(self, key: web.AppKey[Venue]) -> None:
        self.key = key

    def venue(self, request: web.Request) -> Venue:
        return request.app[self.key]

    async def l2(self, request: web.Request) -> tuple[ApiCredentials, bytes]:
        body = await request.read()
        venue = self.venue(request)
        credentials = venue.authenticate(request.headers, method=request.method, path=request.path, body=body)
        return credentials, body

    async def bulk(self, request: web.Request) -> list[dict[str, Any]]:
        try:
            wanted = json.loads(await request.read() or b"[]")
        except ValueError:
            raise VenueError("Invalid payload") from None
        if not isinstance(wanted, list) or not all(isinstance(item, dict) for item in wanted):
            raise VenueError("Invalid payload")
        if len(wanted) > MAX_BULK:
            raise VenueError("Payload exceeds the limit")
        return wanted

    # -- prices ---------------------------------------------------------------------------------

    def best(self, venue: Venue, token_id: str) -> tuple[Decimal | None, Decimal | None]:
        body = venue.book(token_id)
        bids, asks = body["bids"], body["asks"]
        assert isinstance(bids, list)
        assert isinstance(asks, list)
        bid = Decimal(bids[-1]["price"]) if bids else None
        ask = Decimal(asks[-1]["price"]) if asks else None
        return bid, ask

    def mid(self, venue: Venue, token_id: str) -> str:
        bid, ask = self.best(venue, token_id)
        if bid is None or ask is None:
            raise VenueError(errors.NO_ORDERBOOK, 404)
        return errors.text((bid + ask) / 2)

    def spread_of(self, venue: Venue, token_id: str) -> str:
        bid, ask = self.best(venue, token_id)
        if bid is None or ask is None:
            raise VenueError(errors.NO_ORDERBOOK, 404)
        return errors.text(ask - bid)

    def side_price(self, venue: Venue, token_id: str, side: object) -> str:
        if side not in ("BUY", "SELL"):
            raise VenueError("Invalid side")
        bid, ask = self.best(venue, token_id)
        chosen = bid if side == "BUY" else ask  # as GET /price: BUY answers the best bid
        if chosen is None:
            raise VenueError(errors.NO_ORDERBOOK, 404)
        return errors.text(chosen)

    async def midpoints(self, request: web.Request) -> web.Response:
        venue = self.venue(request)
        return _json(
            {str(w.get("token_id", "")): self.mid(venue, str(w.get("token_id", ""))) for w in await self.bulk(request)}
        )

    async def spread(self, request: web.Request) -> web.Response:
        return _json({"spread": self.spread_of(self.venue(request), request.query.get("token_id", ""))})

    async def spreads(self, request: web.Request) -> web.Response:
        venue = self.venue(request)
        return _json(
            {
                str(w.get("token_id", "")): self.spread_of(venue, str(w.get("token_id", "")))
                for w in await self.bulk(request)
            }
        )

    async def prices(self, request: web.Request) -> web.Response:
        venue = self.venue(request)
        out: dict[str, dict[str, str]] = {}
        for wanted in await self.bulk(request):
            token_id = str(wanted.get("token_id", ""))
            side = wanted.get("side")
            out.setdefault(token_id, {})[str(side)] = self.side_price(venue, token_id, side)
        return _json(out)

    def last_trade(self, venue: Venue, token_id: str) -> Trade | None:
        if not token_id.isdecimal():
            raise VenueError(errors.INVALID_TOKEN_ID)
        with venue.lock:
            if token_id not in venue.engine.markets_by_token:
                raise VenueError(errors.NO_ORDERBOOK, 404)
            return next((t for t in reversed(venue.engine.trades.values()) if t.token_id == token_id), None)

    async def last_trade_price(self, request: web.Request) -> web.Response:
        trade = self.last_trade(self.venue(request), request.query.get("token_id", ""))
        if trade is None:
            return _json({"price": "0", "side": ""})
        return _json({"price": errors.text(price_decimal(trade.price_e4)), "side": trade.side})

    async def last_trades_prices(self, request: web.Request) -> web.Response:
        venue = self.venue(request)
        out = []
        for wanted in await self.bulk(request):
            token_id = str(wanted.get("token_id", ""))
            trade = self.last_trade(venue, token_id)
            if trade is not None:  # never traded: left out, as the venue does
                out.append(
                    {"token_id": token_id, "price": errors.text(price_decimal(trade.price_e4)), "side": trade.side}
                )
        return _json(out)

    # -- price history --------------------------------------------------------------------------

    def history(self, venue: Venue, token_id: str, params: Mapping[str, str]) -> list[tuple[int, Decimal]]:
        """(second, price) of the token's trades in the asked window, the last one per bucket."""
        if not token_id.isdecimal():
            raise VenueError(errors.INVALID_TOKEN_ID)
        with venue.lock:
            now = int(venue.clock())
            trades = [
                (t.match_time, price_decimal(t.price_e4))
                for t in venue.engine.trades.values()
                if t.token_id == token_id
            ]
        start = _int(params, "startTs", _int(params, "start", 0))
        end = _int(params, "endTs", _int(params, "end", now + 1))
        interval = params.get("interval", "")
        if interval in _INTERVALS:
            start = now - _INTERVALS[interval]
        elif interval not in ("", "max", "all"):
            raise VenueError("invalid interval")
        as_of = _int(params, "as_of", -1)
        if as_of >= 0:
            before = [point for point in trades if point[0] <= as_of]
            return before[-1:]
        points = [point for point in trades if start <= point[0] < end]
        bucket = _int(params, "bucket_seconds", _int(params, "fidelity", 0) * 60)
        if bucket > 0:
            last: dict[int, tuple[int, Decimal]] = {}
            for second, price in points:
                last[second - second % bucket] = (second - second % bucket, price)
            points = list(last.values())
        return points

    async def prices_history(self, request: web.Request) -> web.Response:
        """CLOB GET /prices-history?market=<token id>: {"history": [{"t": seconds, "p": price}]}."""
        points = self.history(self.venue(request), request.query.get("market", ""), request.query)
        return _numbers({"history": [{"t": second, "p": price} for second, price in points]})

    async def prices_history_v2(self, request: web.Request) -> web.Response:
        """Data API GET /v2/prices-history?token_id=: what the official client's list_price_history reads."""
        params = request.query
        points = self.history(self.venue(request), params.get("token_id", ""), params)
        resolution = _int(params, "bucket_seconds", 0)
        rows = [{"timestamp": second, "price": price, "resolution_seconds": resolution} for second, price in points]
        return _numbers(queries._v2_page(rows, params))

    # -- market listings ------------------------------------------------------------------------

    def markets_page(self, request: web.Request, shape: Any, *, sampling: bool) -> web.Response:
        venue = self.venue(request)
        offset = queries._offset(request.query.get("next_cursor"), errors.INVALID_MARKET)
        with venue.lock:
            markets = sorted(venue.engine.markets.values(), key=lambda m: m.condition_id)
            if sampling:  # no reward programs here: the markets taking orders are the sampled ones
                markets = [m for m in markets if m.accepting_orders]
            rows = [shape(m, _last_prices(venue, m)) for m in markets]
        return _numbers(queries._page(rows, offset))

    async def markets(self, request: web.Request) -> web.Response:
        return self.markets_page(request, shapes.clob_market, sampling=False)

    async def simplified_markets(self, request: web.Request) -> web.Response:
        return self.markets_page(request, _simplified, sampling=False)

    async def sampling_markets(self, request: web.Request) -> web.Response:
        return self.markets_page(request, shapes.clob_market, sampling=True)

    async def sampling_simplified_markets(self, request: web.Request) -> web.Response:
        return self.markets_page(request, _simplified, sampling=True)

    # -- account --------------------------------------------------------------------------------

    async def heartbeat(self, request: web.Request) -> web.Response:
        credentials, body = await self.l2(request)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            raise VenueError(errors.INVALID_ORDER_PAYLOAD) from None
        given = payload.get("heartbeat_id", "") if isinstance(payload, dict) else None
        venue = self.venue(request)
        with venue.lock:
            following = venue.heartbeats.beat(credentials.key, given, venue.clock())
        return _json({"heartbeat_id": following})

    async def cancel_market_orders(self, request: web.Request) -> web.Response:
        credentials, body = await self.l2(request)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            raise VenueError(errors.INVALID_ORDER_PAYLOAD) from None
        if not isinstance(payload, dict) or not (payload.get("market") or payload.get("asset_id")):
            raise VenueError(errors.INVALID_ORDER_PAYLOAD)
        market = str(payload.get("market") or "").lower()
        asset = str(payload.get("asset_id") or "")
        venue = self.venue(request)
        with venue.lock:
            ids = [
                order.order_id
                for order in venue.engine.orders_by_owner.get(credentials.key, {}).values()
                if order.is_open
                and (not market or order.condition_id == market)
                and (not asset or order.token_id == asset)
            ]
            return _json(venue.cancel(ids, credentials))

    async def closed_only(self, request: web.Request) -> web.Response:
        credentials, _ = await self.l2(request)
        venue = self.venue(request)
        with venue.lock:
            restriction = venue.engine.ledger.account(credentials.address).restriction
        return _json({"closed_only": restriction == "closed_only"})

    async def notifications(self, request: web.Request) -> web.Response:
        credentials, _ = await self.l2(request)
        venue = self.venue(request)
        with venue.lock:
            dropped = venue.dropped_notifications.get(credentials.key, set())
            rows = [row for row in _notifications(venue, credentials.key) if row["id"] not in dropped]
        return _json(rows)

    async def drop_notifications(self, request: web.Request) -> web.Response:
        credentials, _ = await self.l2(request)
        ids = [part for part in request.query.get("ids", "").split(",") if part]
        if not ids or not all(part.isdecimal() for part in ids):
            raise VenueError("invalid ids")
        venue = self.venue(request)
        with venue.lock:
            venue.dropped_notifications.setdefault(credentials.key, set()).update(int(part) for part in ids)
        return _json("OK")

    def scoring(self, venue: Venue, credentials: ApiCredentials, order_id: object) -> bool:
        """Whether the key's order is resting on the book (the simulator runs no reward programs)."""
        if not isinstance(order_id, str) or not order_id.startswith("0x"):
            raise VenueError(errors.INVALID_ORDER_ID)
        with venue.lock:
            order = venue.engine.orders_by_owner.get(credentials.key, {}).get(order_id.lower())
            return order is not None and order.status == "LIVE"

    async def order_scoring(self, request: web.Request) -> web.Response:
        credentials, _ = await self.l2(request)
        return _json({"scoring": self.scoring(self.venue(request), credentials, request.query.get("order_id"))})

    async def orders_scoring(self, request: web.Request) -> web.Response:
        credentials, body = await self.l2(request)
        try:
            ids = json.loads(body or b"[]")
        except ValueError:
            raise VenueError(errors.INVALID_ORDER_PAYLOAD) from None
        if not isinstance(ids, list):
            raise VenueError(errors.INVALID_ORDER_PAYLOAD)
        venue = self.venue(request)
        return _json({str(order_id): self.scoring(venue, credentials, order_id) for order_id in ids})


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name, "")
    if raw == "":
        return default
    if not raw.isdecimal():
        raise VenueError(f"invalid {name}")
    return int(raw)


def _last_prices(venue: Venue, market: Market) -> dict[str, Decimal]:
    out = {}
    for token in market.tokens:
        last = venue.engine.books[token.token_id].last_trade_price_e4
        if last is not None:
            out[token.token_id] = price_decimal(last)
    return out


def _simplified(market: Market, last_prices: dict[str, Decimal]) -> dict[str, object]:
    return {
        "condition_id": market.condition_id,
        "tokens": [
            {
                "token_id": t.token_id,
                "outcome": t.outcome,
                "price": last_prices.get(t.token_id, Decimal(0)),
                "winner": False,
            }
            for t in market.tokens
        ],
        "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
        "active": True,
        "closed": False,
        "archived": False,
        "accepting_orders": market.accepting_orders,
    }


def _order_payload(order: Order, market: Market, *, trade: Trade | None) -> dict[str, object]:
    outcome, index = market.outcome_of(order.token_id)
    return {
        "asset_id": order.token_id,
        "market": order.condition_id,
        "order_id": order.order_id,
        "side": order.side,
        "type": order.order_type,
        "price": errors.text(price_decimal(order.price_e4)),
        "original_size": errors.text(units_decimal(order.original_size)),
        "matched_size": errors.text(units_decimal(order.size_matched)),
        "remaining_size": errors.text(units_decimal(max(order.remaining, 0))),
        "outcome": outcome,
        "outcome_index": index,
        "transaction_hash": trade.transaction_hash if trade is not None else "",
        "trade_id": trade.trade_id if trade is not None else "",
        "question": market.title,
        "market_slug": market.slug,
        "icon": market.icon,
    }


def _notifications(venue: Venue, key: str) -> list[dict[str, Any]]:
    """Fills (type 2) and cancellations (type 1) of the key's orders, newest first."""
    engine = venue.engine
    rows: list[dict[str, Any]] = []
    for trade in engine.trades_by_owner.get(key, []):
        order = engine.orders.get(trade.taker_order_id if trade.taker_owner == key else trade.maker_order_id)
        if order is not None:
            payload = _order_payload(order, engine.markets[order.condition_id], trade=trade)
            rows.append(
                {"id": trade.sequence, "owner": key, "timestamp": trade.match_time, "type": 2, "payload": payload}
            )
    for order in engine.orders_by_owner.get(key, {}).values():
        if order.status == "CANCELED":
            payload = _order_payload(order, engine.markets[order.condition_id], trade=None)
            rows.append(
                {"id": order.sequence, "owner": key, "timestamp": order.created_at, "type": 1, "payload": payload}
            )
    return sorted(rows, key=lambda row: row["id"], reverse=True)


def add_routes(app: web.Application, key: web.AppKey[Venue]) -> None:
    extras = Extras(key)
    get, post, delete = app.router.add_get, app.router.add_post, app.router.add_delete
    post("/midpoints", extras.midpoints)
    get("/spread", extras.spread)
    post("/spreads", extras.spreads)
    post("/prices", extras.prices)
    get("/last-trade-price", extras.last_trade_price)
    post("/last-trades-prices", extras.last_trades_prices)
    get("/prices-history", extras.prices_history)
    get("/v2/prices-history", extras.prices_history_v2)
    get("/markets", extras.markets)
    get("/simplified-markets", extras.simplified_markets)
    get("/sampling-markets", extras.sampling_markets)
    get("/sampling-simplified-markets", extras.sampling_simplified_markets)
    post("/v1/heartbeats", extras.heartbeat)
    delete("/cancel-market-orders", extras.cancel_market_orders)
    get("/auth/ban-status/closed-only", extras.closed_only)
    get("/notifications", extras.notifications)
    delete("/notifications", extras.drop_notifications)
    get("/order-scoring", extras.order_scoring)
    post("/orders-scoring", extras.orders_scoring)
