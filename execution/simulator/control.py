"""/_sim/*: the control surface for tests, demos and benchmarks (unauthenticated, never faulted).

Each route maps onto one Venue method; bodies and answers are JSON (decimals as numbers).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .jsonout import dumps
from .venue import Venue

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _answer(body: object, status: int = 200) -> web.Response:
    return web.Response(body=dumps(body), status=status, content_type="application/json")


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    return json.loads(raw)


def _guarded(handler: Callable[[web.Request, Venue], Awaitable[web.Response]], key: web.AppKey[Venue]) -> Handler:
    async def run(request: web.Request) -> web.Response:
        try:
            return await handler(request, request.app[key])
        except (KeyError, ValueError, TypeError, AttributeError) as problem:
            return _answer({"error": f"{type(problem).__name__}: {problem}"}, 400)

    return run


async def state(request: web.Request, venue: Venue) -> web.Response:
    return _answer(venue.state())


async def reset(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    venue.reset(body or None)
    return _answer(venue.state())


async def scenario(request: web.Request, venue: Venue) -> web.Response:
    venue.load_scenario(await _body(request))
    return _answer(venue.state())


async def add_market(request: web.Request, venue: Venue) -> web.Response:
    venue.add_market(await _body(request))
    return _answer(venue.state())


async def change_market(request: web.Request, venue: Venue) -> web.Response:
    venue.set_market(request.match_info["condition_id"], **(await _body(request)))
    return _answer({"ok": True})


async def set_book(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    venue.set_book(
        str(body["token_id"]),
        [tuple(level) for level in body.get("bids", [])],
        [tuple(level) for level in body.get("asks", [])],
        replenish=bool(body.get("replenish", True)),
    )
    return _answer(venue.book(str(body["token_id"])))


async def set_balance(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    venue.set_balance(body["address"], pusd=body.get("pusd"), shares=body.get("shares"))
    return _answer(venue.balances(body["address"]))


async def get_balance(request: web.Request, venue: Venue) -> web.Response:
    return _answer(venue.balances(request.match_info["address"]))


async def set_allowance(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    venue.set_allowance(body["address"], bool(body.get("approved", True)))
    return _answer(venue.balances(body["address"]))


async def set_restriction(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    venue.set_restriction(body["address"], body.get("restriction"))
    return _answer({"ok": True})


async def api_key(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    credentials = venue.credentials(body["address"], int(body.get("nonce", 0)))
    return _answer({"apiKey": credentials.key, "secret": credentials.secret, "passphrase": credentials.passphrase})


async def leader_trades(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    rows = body if isinstance(body, list) else [body]
    injected = [
        venue.inject_leader_trade(
            r["wallet"],
            str(r["token_id"]),
            r["side"],
            r["size"],
            r["price"],
            timestamp=r.get("timestamp"),
            transaction_hash=r.get("transaction_hash"),
            taker=r.get("taker", True),
            name=r.get("name", ""),
            pseudonym=r.get("pseudonym", ""),
        )
        for r in rows
    ]
    return _answer(injected)


async def list_faults(request: web.Request, venue: Venue) -> web.Response:
    return _answer([dataclasses.asdict(f) for f in venue.active_faults()])


async def add_fault(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    specs = body if isinstance(body, list) else [body]
    added = [
        venue.add_fault(
            s["kind"],
            s.get("endpoint", "*"),
            count=s.get("count", 1),
            probability=float(s.get("probability", 1.0)),
            delay_ms=int(s.get("delay_ms", 0)),
            status=s.get("status"),
            retry_after_s=int(s.get("retry_after_s", 1)),
        )
        for s in specs
    ]
    return _answer([dataclasses.asdict(f) for f in added])


async def clear_faults(request: web.Request, venue: Venue) -> web.Response:
    venue.clear_faults()
    return _answer([])


async def remove_fault(request: web.Request, venue: Venue) -> web.Response:
    removed = venue.faults_remove(int(request.match_info["fault_id"]))
    return _answer({"removed": removed})


async def mode(request: web.Request, venue: Venue) -> web.Response:
    venue.set_trading_mode((await _body(request))["mode"])
    return _answer(venue.state())


async def version(request: web.Request, venue: Venue) -> web.Response:
    venue.set_version(int((await _body(request))["version"]))
    return _answer(venue.state())


async def settlement(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    if body.get("manual"):
        venue.set_settlement(None, None)
    else:
        venue.set_settlement(int(body["mined_after_ms"]), body.get("confirmed_after_ms"))
    return _answer({"ok": True})


async def advance(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    return _answer(venue.advance_trades(body.get("trade_ids"), to=body.get("to", "CONFIRMED")))


async def fail(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    return _answer(venue.fail_trades(body.get("trade_ids"), settle=bool(body.get("settle", True))))


async def orders(request: web.Request, venue: Venue) -> web.Response:
    return _answer(venue.orders(maker=request.query.get("maker"), status=request.query.get("status")))


async def one_order(request: web.Request, venue: Venue) -> web.Response:
    found = venue.order(request.match_info["order_id"])
    return _answer(found, 200 if found is not None else 404)


async def trades(request: web.Request, venue: Venue) -> web.Response:
    return _answer(venue.trades(wallet=request.query.get("wallet"), status=request.query.get("status")))


async def session_signer(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    venue.authorize_session_signer(
        body["wallet"],
        body["session_key"],
        scopes=tuple(body.get("scopes", ["CLOB"])),
        valid_until=body.get("valid_until"),
    )
    return _answer(venue.session_signers(body["wallet"]))


async def revoke_session_signer(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    return _answer({"revoked": venue.revoke_session_signer(body["wallet"], body["session_key"])})


async def session_signers(request: web.Request, venue: Venue) -> web.Response:
    return _answer(venue.session_signers(request.match_info["wallet"]))


async def deposit_wallet(request: web.Request, venue: Venue) -> web.Response:
    body = await _body(request)
    venue.register_deposit_wallet(body["wallet"], body["owner"])
    return _answer({"ok": True})


def add_routes(app: web.Application, key: web.AppKey[Venue]) -> None:
    routes: list[tuple[str, str, Callable[[web.Request, Venue], Awaitable[web.Response]]]] = [
        ("GET", "/_sim/state", state),
        ("POST", "/_sim/reset", reset),
        ("POST", "/_sim/scenario", scenario),
        ("POST", "/_sim/markets", add_market),
        ("POST", "/_sim/markets/{condition_id}", change_market),
        ("POST", "/_sim/books", set_book),
        ("POST", "/_sim/balances", set_balance),
        ("GET", "/_sim/balances/{address}", get_balance),
        ("POST", "/_sim/allowances", set_allowance),
        ("POST", "/_sim/restrictions", set_restriction),
        ("POST", "/_sim/api-keys", api_key),
        ("POST", "/_sim/leader-trades", leader_trades),
        ("GET", "/_sim/faults", list_faults),
        ("POST", "/_sim/faults", add_fault),
        ("DELETE", "/_sim/faults", clear_faults),
        ("DELETE", "/_sim/faults/{fault_id}", remove_fault),
        ("POST", "/_sim/mode", mode),
        ("POST", "/_sim/version", version),
        ("POST", "/_sim/settlement", settlement),
        ("POST", "/_sim/trades/advance", advance),
        ("POST", "/_sim/trades/fail", fail),
        ("GET", "/_sim/orders", orders),
        ("GET", "/_sim/orders/{order_id}", one_order),
        ("GET", "/_sim/trades", trades),
        ("POST", "/_sim/session-signers", session_signer),
        ("POST", "/_sim/session-signers/revoke", revoke_session_signer),
        ("GET", "/_sim/session-signers/{wallet}", session_signers),
        ("POST", "/_sim/deposit-wallets", deposit_wallet),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guarded(handler, key))
