"""The aiohttp application: CLOB V2 and Data API routes, fault injection, errors as JSON.

Handlers stay thin: read the request, call one Venue method, write JSON. The Venue does the work
under its lock, so the event loop never awaits while holding it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from . import control, errors, shapes
from .errors import VenueError
from .jsonout import dumps as dumps_numbers
from .models import ApiCredentials
from .venue import Venue

VENUE: web.AppKey[Venue] = web.AppKey("venue", Venue)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def number_response(body: object, status: int = 200) -> web.Response:
    """For bodies whose decimals are JSON numbers (Data API, /clob-markets, /tick-size)."""
    return web.Response(body=dumps_numbers(body), status=status, content_type="application/json")


def error_response(
    message: str, status: int, *, extra: dict[str, object] | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    return json_response({"error": message, **(extra or {})}, status, headers)


def _refusal(refusal: VenueError) -> web.Response:
    return error_response(refusal.message, refusal.status, extra=refusal.extra, headers=refusal.headers)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except VenueError as refusal:
        return _refusal(refusal)


@web.middleware
async def faults_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_sim"):
        return await handler(request)
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else request.path
    fault = request.app[VENUE].take_fault(request.method, route, request.path)
    if fault is None:
        return await handler(request)
    kind = fault.kind
    if kind == "delay":
        # The request has arrived: it is handled after the wait even if the client gives up
        # meanwhile (a read timeout is then an answer lost after commit). Read the body first:
        # aiohttp fails an unread body once the client hangs up, which dropped the order.
        await request.read()
        await asyncio.sleep(fault.delay_ms / 1000)
        return await handler(request)
    if kind == "error_before":
        return error_response(errors.INTERNAL_ERROR, fault.status or 500)
    if kind == "rate_limit":
        return error_response(errors.TOO_MANY_REQUESTS, 429, headers={"Retry-After": str(fault.retry_after_s)})
    if kind == "too_early":
        return error_response(errors.ENGINE_RESTARTING, 425, headers={"Retry-After": str(fault.retry_after_s)})
    if kind == "cancel_only":
        return error_response(errors.CANCEL_ONLY, 503)
    if kind == "trading_disabled":
        return error_response(errors.TRADING_DISABLED, 503)
    if kind == "post_only":
        return error_response(
            errors.POST_ONLY_MODE,
            503,
            extra={"code": "post_only_mode", "retry_after_seconds": fault.retry_after_s},
            headers={"Retry-After": str(fault.retry_after_s)},
        )
    # The remaining kinds let the request take effect first.
    try:
        response = await handler(request)
    except VenueError as refusal:
        response = _refusal(refusal)
    if kind == "delay_after":
        await asyncio.sleep(fault.delay_ms / 1000)
        return response
    if kind == "error_after":
        return error_response(errors.INTERNAL_ERROR, fault.status or 500)
    # drop: the venue committed, the client never hears back.
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError


def _venue(request: web.Request) -> Venue:
    return request.app[VENUE]


async def _l2(request: web.Request) -> tuple[ApiCredentials, bytes]:
    body = await request.read()
    credentials = _venue(request).authenticate(request.headers, method=request.method, path=request.path, body=body)
    return credentials, body


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise VenueError(errors.INVALID_ORDER_PAYLOAD) from None


def _token_param(request: web.Request) -> str:
    token_id = request.query.get("token_id", "")
    if not token_id.isdecimal():
        raise VenueError(errors.INVALID_TOKEN_ID)
    return token_id


# -- public market data ---------------------------------------------------------------------------


async def ok(request: web.Request) -> web.Response:
    return json_response("OK")


async def server_time(request: web.Request) -> web.Response:
    return json_response(int(_venue(request).clock()))


async def version(request: web.Request) -> web.Response:
    return json_response({"version": _venue(request).version})


async def book(request: web.Request) -> web.Response:
    return json_response(_venue(request).book(request.query.get("token_id", "")))


async def books(request: web.Request) -> web.Response:
    wanted = _json_body(await request.read())
    if not isinstance(wanted, list) or not all(isinstance(w, dict) for w in wanted):
        raise VenueError("Invalid payload")
    if len(wanted) > 500:
        raise VenueError("Payload exceeds the limit")
    return json_response([_venue(request).book(str(w.get("token_id", ""))) for w in wanted])


async def tick_size(request: web.Request) -> web.Response:
    market = _venue(request).market_for_token(_token_param(request))
    return number_response({"minimum_tick_size": market.tick_size})


async def neg_risk(request: web.Request) -> web.Response:
    market = _venue(request).market_for_token(_token_param(request))
    return json_response({"neg_risk": market.neg_risk})


async def fee_rate(request: web.Request) -> web.Response:
    _venue(request).market_for_token(_token_param(request))
    return json_response({"base_fee": 0})


def _best(request: web.Request) -> tuple[str | None, str | None]:
    body = _venue(request).book(_token_param(request))
    bids, asks = body["bids"], body["asks"]
    assert isinstance(bids, list)
    assert isinstance(asks, list)
    return (bids[-1]["price"] if bids else None), (asks[-1]["price"] if asks else None)


async def midpoint(request: web.Request) -> web.Response:
    bid, ask = _best(request)
    if bid is None or ask is None:
        raise VenueError(errors.NO_ORDERBOOK, 404)
    mid = (Decimal(bid) + Decimal(ask)) / 2
    return json_response({"mid": errors.text(mid)})


async def price(request: web.Request) -> web.Response:
    side = request.query.get("side", "")
    if side not in ("BUY", "SELL"):
        raise VenueError("Invalid side")
    bid, ask = _best(request)
    # Documented semantics: BUY answers the best bid, SELL the best ask (reference §2.2).
    chosen = bid if side == "BUY" else ask
    if chosen is None:
        raise VenueError(errors.NO_ORDERBOOK, 404)
    return json_response({"price": chosen})


async def clob_market_info(request: web.Request) -> web.Response:
    market = _venue(request).market_for_condition(request.match_info["condition_id"])
    return number_response(shapes.clob_market_info(market))


async def clob_market(request: web.Request) -> web.Response:
    venue = _venue(request)
    market = venue.market_for_condition(request.match_info["condition_id"])
    return number_response(shapes.clob_market(market, venue.last_prices(market)))


async def markets_by_token(request: web.Request) -> web.Response:
    market = _venue(request).market_for_token(request.match_info["token_id"])
    return json_response(
        {
            "condition_id": market.condition_id,
            "primary_token_id": market.tokens[0].token_id,
            "secondary_token_id": market.tokens[-1].token_id,
        }
    )


# -- auth -----------------------------------------------------------------------------------------


def _creds_body(credentials: ApiCredentials) -> dict[str, str]:
    return {"apiKey": credentials.key, "secret": credentials.secret, "passphrase": credentials.passphrase}


async def create_api_key(request: web.Request) -> web.Response:
    return json_response(_creds_body(_venue(request).create_api_key(request.headers)))


async def derive_api_key(request: web.Request) -> web.Response:
    return json_response(_creds_body(_venue(request).derive_api_key(request.headers)))


async def list_api_keys(request: web.Request) -> web.Response:
    credentials, _body = await _l2(request)
    return json_response({"apiKeys": _venue(request).api_keys_of(credentials.address)})


async def delete_api_key(request: web.Request) -> web.Response:
    credentials, _body = await _l2(request)
    _venue(request).revoke_api_key(credentials.key)
    return json_response("OK")


# -- trading --------------------------------------------------------------------------------------


async def post_order(request: web.Request) -> web.Response:
    credentials, body = await _l2(request)
    return json_response(_venue(request).place(_json_body(body), credentials))


async def post_orders(request: web.Request) -> web.Response:
    credentials, body = await _l2(request)
    return json_response(_venue(request).place_batch(_json_body(body), credentials))


async def delete_order(request: web.Request) -> web.Response:
    credentials, body = await _l2(request)
    payload = _json_body(body)
    if not isinstance(payload, dict) or "orderID" not in payload:
        raise VenueError(errors.INVALID_ORDER_PAYLOAD)
    return json_response(_venue(request).cancel([payload["orderID"]], credentials))


async def delete_orders(request: web.Request) -> web.Response:
    credentials, body = await _l2(request)
    payload = _json_body(body)
    if not isinstance(payload, list):
        raise VenueError(errors.INVALID_ORDER_PAYLOAD)
    if len(payload) > 1000:
        raise VenueError("Too many orders in payload, max allowed: 1000")
    return json_response(_venue(request).cancel(payload, credentials))


async def cancel_all(request: web.Request) -> web.Response:
    credentials, _body = await _l2(request)
    return json_response(_venue(request).cancel_all(credentials))


async def get_order(request: web.Request) -> web.Response:
    credentials, _body = await _l2(request)
    # An order the venue does not know (or does not show) comes back as a 200 with `null`.
    return json_response(_venue(request).order_for(request.match_info["order_id"], credentials))


async def get_orders(request: web.Request) -> web.Response:
    credentials, _body = await _l2(request)
    return json_response(_venue(request).open_orders(credentials, request.query))


async def get_trades(request: web.Request) -> web.Response:
    credentials, _body = await _l2(request)
    return json_response(_venue(request).account_trades(credentials, request.query))


async def balance_allowance(request: web.Request) -> web.Response:
    credentials, _body = await _l2(request)
    return json_response(_venue(request).balance_allowance(credentials, request.query))


async def relayer_deployed(request: web.Request) -> web.Response:
    # Every wallet counts as deployed: the simulator has no chain to deploy to.
    return json_response({"deployed": True})


# -- Data API -------------------------------------------------------------------------------------


async def data_trades(request: web.Request) -> web.Response:
    return number_response(_venue(request).data_trades(request.query))


async def data_activity(request: web.Request) -> web.Response:
    return number_response(_venue(request).data_activity(request.query))


async def data_trades_v2(request: web.Request) -> web.Response:
    return number_response(_venue(request).data_trades_v2(request.query))


async def data_activity_v2(request: web.Request) -> web.Response:
    return number_response(_venue(request).data_activity_v2(request.query))


async def data_positions(request: web.Request) -> web.Response:
    return number_response(_venue(request).data_positions(request.query.get("user", "")))


async def _ticker(app: web.Application) -> Any:
    """Run due work (settlement, taker delays, GTD expiry) even when nobody is asking."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(0.05)
            app[VENUE].run_due()

    task = asyncio.get_running_loop().create_task(loop())
    yield
    task.cancel()


def build_app(venue: Venue) -> web.Application:
    app = web.Application(middlewares=[errors_middleware, faults_middleware], client_max_size=4 * 1024 * 1024)
    app[VENUE] = venue
    app.cleanup_ctx.append(_ticker)
    get, post, delete = app.router.add_get, app.router.add_post, app.router.add_delete
    get("/ok", ok)
    get("/time", server_time)
    get("/version", version)
    get("/book", book)
    post("/books", books)
    get("/tick-size", tick_size)
    get("/neg-risk", neg_risk)
    get("/fee-rate", fee_rate)
    get("/midpoint", midpoint)
    get("/price", price)
    get("/clob-markets/{condition_id}", clob_market_info)
    get("/markets/{condition_id}", clob_market)
    get("/markets-by-token/{token_id}", markets_by_token)
    post("/auth/api-key", create_api_key)
    get("/auth/derive-api-key", derive_api_key)
    get("/auth/api-keys", list_api_keys)
    delete("/auth/api-key", delete_api_key)
    post("/order", post_order)
    post("/orders", post_orders)
    delete("/order", delete_order)
    delete("/orders", delete_orders)
    delete("/cancel-all", cancel_all)
    get("/data/order/{order_id}", get_order)
    get("/data/orders", get_orders)
    get("/data/trades", get_trades)
    get("/balance-allowance", balance_allowance)
    get("/balance-allowance/update", balance_allowance)
    get("/deployed", relayer_deployed)
    get("/trades", data_trades)
    get("/activity", data_activity)
    get("/positions", data_positions)
    get("/v2/trades", data_trades_v2)
    get("/v2/activity", data_activity_v2)
    control.add_routes(app, VENUE)
    return app
