"""Read paths: open orders, account trades, balances and Data API rows (caller holds the lock)."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from . import errors, shapes
from .constants import (
    EXCHANGE_V3,
    NEG_RISK_ADAPTER,
    NEG_RISK_EXCHANGE_V2,
    STANDARD_EXCHANGE_V2,
    UNLIMITED_ALLOWANCE,
)
from .crypto import address_bytes, hex_address
from .engine import Engine
from .errors import VenueError
from .models import ActivityRow, ApiCredentials
from .wallets import funder_for

START_CURSOR = "MA=="
END_CURSOR = "LTE="
PAGE_SIZE = 100


def _offset(cursor: str | None, invalid: str) -> int:
    if not cursor:
        return 0
    try:
        offset = int(base64.b64decode(cursor, validate=True).decode())
    except ValueError:
        raise VenueError(invalid) from None
    if offset < 0:
        raise VenueError(invalid)
    return offset


def _page(items: list[dict[str, object]], offset: int) -> dict[str, object]:
    chunk = items[offset : offset + PAGE_SIZE]
    following = offset + PAGE_SIZE
    next_cursor = base64.b64encode(str(following).encode()).decode() if following < len(items) else END_CURSOR
    return {"limit": PAGE_SIZE, "count": len(chunk), "next_cursor": next_cursor, "data": chunk}


def open_orders(engine: Engine, credentials: ApiCredentials, params: Mapping[str, str]) -> dict[str, object]:
    offset = _offset(params.get("next_cursor"), errors.INVALID_ORDER_PARAMS)
    wanted_id = params.get("id")
    market = params.get("market")
    asset = params.get("asset_id")
    rows = []
    for order in engine.orders_by_owner.get(credentials.key, {}).values():
        if order.status != "LIVE":
            continue
        if wanted_id and order.order_id != wanted_id.lower():
            continue
        if market and order.condition_id != market.lower():
            continue
        if asset and order.token_id != asset:
            continue
        rows.append(shapes.open_order(order, engine.markets[order.condition_id]))
    return _page(rows, offset)


def account_trades(engine: Engine, credentials: ApiCredentials, params: Mapping[str, str]) -> dict[str, object]:
    offset = _offset(params.get("next_cursor"), errors.INVALID_TRADE_PARAMS)
    try:
        before = int(params["before"]) if params.get("before") else None
        after = int(params["after"]) if params.get("after") else None
    except ValueError:
        raise VenueError(errors.INVALID_TRADE_PARAMS) from None
    wanted_id = params.get("id")
    maker_address = (params.get("maker_address") or "").lower()
    market = (params.get("market") or "").lower()
    asset = params.get("asset_id")
    rows = []
    for trade in reversed(engine.trades_by_owner.get(credentials.key, [])):
        if wanted_id and trade.trade_id != wanted_id:
            continue
        if maker_address and maker_address not in (trade.taker_address, trade.maker_address):
            continue
        if market and trade.condition_id != market:
            continue
        if asset and trade.token_id != asset:
            continue
        if before is not None and trade.match_time >= before:
            continue
        if after is not None and trade.match_time <= after:
            continue
        rows.append(shapes.clob_trade(trade, credentials.key))
    return _page(rows, offset)


def balance_allowance(engine: Engine, credentials: ApiCredentials, params: Mapping[str, str]) -> dict[str, object]:
    asset_type = params.get("asset_type", "COLLATERAL")
    try:
        signature_type = int(params.get("signature_type", "0") or "0")
    except ValueError:
        raise VenueError("Invalid signature_type") from None
    wallet = hex_address(funder_for(address_bytes(credentials.address), signature_type))
    account = engine.ledger.account(wallet)
    spenders: tuple[str, ...]
    if asset_type == "COLLATERAL":
        balance = account.pusd
        spenders = (STANDARD_EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, NEG_RISK_ADAPTER, EXCHANGE_V3)
    elif asset_type in ("CONDITIONAL", "CONDITIONAL-V2"):
        token_id = params.get("token_id", "")
        if not token_id.isdecimal():
            raise VenueError(errors.INVALID_TOKEN_ID)
        balance = account.shares.get(token_id, 0)
        spenders = (STANDARD_EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, NEG_RISK_ADAPTER)
    else:
        raise VenueError("Invalid asset_type")
    allowance = str(UNLIMITED_ALLOWANCE if account.approved else 0)
    return {"balance": str(max(balance, 0)), "allowances": {spender: allowance for spender in spenders}}


def _int_param(params: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdecimal():
        raise VenueError(f"invalid {name}")
    return min(int(raw), maximum)


def _rows(engine: Engine, params: Mapping[str, str]) -> list[ActivityRow]:
    user = (params.get("user") or "").lower()
    if user:
        rows = [r for r in engine.activity.get(user, ()) if r.visible]
    else:
        rows = [r for rows in engine.activity.values() for r in rows if r.visible]
    markets = {m.strip().lower() for m in (params.get("market") or "").split(",") if m.strip()}
    if markets:
        rows = [r for r in rows if r.condition_id in markets]
    side = (params.get("side") or "").upper()
    if side:
        rows = [r for r in rows if r.side == side]
    return rows


def data_trades(engine: Engine, params: Mapping[str, str]) -> list[dict[str, object]]:
    """Data API v1 GET /trades: newest first; takerOnly (default true) hides maker fills."""
    rows = _rows(engine, params)
    if (params.get("takerOnly") or "true").lower() != "false":
        rows = [r for r in rows if r.taker]
    rows.sort(key=lambda r: (r.timestamp, r.sequence), reverse=True)
    limit = _int_param(params, "limit", 100, 10_000)
    offset = _int_param(params, "offset", 0, 10_000)
    return [shapes.data_trade(r) for r in rows[offset : offset + limit]]


_SORT_KEYS = {
    "TIMESTAMP": lambda r: (r.timestamp, r.sequence),
    "TOKENS": lambda r: (r.size, r.sequence),
    "CASH": lambda r: (r.usdc_size, r.sequence),
}


def data_activity(engine: Engine, params: Mapping[str, str]) -> list[dict[str, object]]:
    """Data API v1 GET /activity (TRADE rows; maker fills included, as on the real endpoint)."""
    if not params.get("user"):
        raise VenueError("user is required")
    types = {t.strip().upper() for t in (params.get("type") or "TRADE").split(",") if t.strip()}
    if "TRADE" not in types:
        return []
    rows = _rows(engine, params)
    start = _int_param(params, "start", 0, 1 << 62)
    end = _int_param(params, "end", 1 << 62, 1 << 62)
    rows = [r for r in rows if start <= r.timestamp <= end]
    sort_key = _SORT_KEYS.get((params.get("sortBy") or "TIMESTAMP").upper(), _SORT_KEYS["TIMESTAMP"])
    rows.sort(key=sort_key, reverse=(params.get("sortDirection") or "DESC").upper() != "ASC")
    limit = _int_param(params, "limit", 100, 10_000)
    offset = _int_param(params, "offset", 0, 10_000)
    return [shapes.data_activity(r) for r in rows[offset : offset + limit]]


def _v2_page(rows: list[dict[str, object]], params: Mapping[str, str]) -> dict[str, object]:
    limit = _int_param(params, "limit", 100, 1000) or 100
    offset = _offset(params.get("cursor"), "invalid cursor")
    chunk = rows[offset : offset + limit]
    more = offset + limit < len(rows)
    return {
        "data": chunk,
        "pagination": {
            "limit": limit,
            "offset": offset,
            "has_more": more,
            "next_cursor": base64.b64encode(str(offset + limit).encode()).decode() if more else None,
        },
    }


def _v2_rows(engine: Engine, params: Mapping[str, str]) -> list[ActivityRow]:
    translated = {
        "user": params.get("user", ""),
        "market": params.get("condition_id", ""),
        "side": params.get("side", ""),
    }
    rows = _rows(engine, translated)
    start = _int_param(params, "start", 0, 1 << 62)
    end = _int_param(params, "end", 1 << 62, 1 << 62)
    return [r for r in rows if start <= r.timestamp <= end]


def data_trades_v2(engine: Engine, params: Mapping[str, str]) -> dict[str, object]:
    """Data API v2 GET /v2/trades: snake_case rows in a cursor envelope; taker_only defaults to true."""
    rows = _v2_rows(engine, params)
    if (params.get("taker_only") or "true").lower() != "false":
        rows = [r for r in rows if r.taker]
    rows.sort(key=lambda r: (r.timestamp, r.sequence), reverse=True)
    return _v2_page([shapes.data_trade_v2(r) for r in rows], params)


def data_activity_v2(engine: Engine, params: Mapping[str, str]) -> dict[str, object]:
    if not params.get("user"):
        raise VenueError("user is required")
    types = {t.strip().upper() for t in (params.get("type") or "TRADE").split(",") if t.strip()}
    rows = _v2_rows(engine, params) if "TRADE" in types else []
    rows.sort(
        key=lambda r: (r.timestamp, r.sequence), reverse=(params.get("sort_direction") or "DESC").upper() != "ASC"
    )
    return _v2_page([shapes.data_activity_v2(r) for r in rows], params)
