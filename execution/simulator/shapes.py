"""The wire shapes of the venue's answers (CLOB V2 and Data API v1), field for field."""

from __future__ import annotations

from decimal import Decimal

from .errors import text
from .models import ActivityRow, Market, Order, Trade, price_decimal, units_decimal


def _amount(base_units: int) -> str:
    return text(units_decimal(base_units)) if base_units else ""


def order_response(order: Order, trades: list[Trade], status: str) -> dict[str, object]:
    """POST /order success body; amounts are what filled immediately."""
    shares = sum(t.size for t in trades)
    usdc = sum(t.usdc for t in trades)
    making, taking = (usdc, shares) if order.side == "BUY" else (shares, usdc)
    return {
        "errorMsg": "",
        "makingAmount": _amount(making),
        "orderID": order.order_id,
        "status": status,
        "success": True,
        "takingAmount": _amount(taking),
        "tradeIDs": [t.trade_id for t in trades],
        # Not returned for matched orders since 2026-07-24; poll trades instead.
        "transactionsHashes": [],
    }


def batch_error(message: str) -> dict[str, object]:
    """A per-order refusal inside a POST /orders answer, in the documented shape."""
    return {
        "errorMsg": message,
        "orderID": "",
        "takingAmount": "",
        "makingAmount": "",
        "status": "",
        "success": True,
    }


def open_order(order: Order, market: Market) -> dict[str, object]:
    outcome, _index = market.outcome_of(order.token_id)
    return {
        "id": order.order_id,
        "status": order.status,
        "owner": order.owner,
        "maker_address": order.maker,
        "market": order.condition_id,
        "asset_id": order.token_id,
        "side": order.side,
        "original_size": text(units_decimal(order.original_size)),
        "size_matched": text(units_decimal(order.size_matched)),
        "price": text(price_decimal(order.price_e4)),
        "outcome": outcome,
        "expiration": str(order.expiration),
        "order_type": order.order_type,
        "associate_trades": list(order.associate_trades),
        "created_at": order.created_at,
    }


def clob_trade(trade: Trade, viewer: str) -> dict[str, object]:
    """A /data/trades row; `viewer` (an API key) decides trader_side."""
    return {
        "id": trade.trade_id,
        "taker_order_id": trade.taker_order_id,
        "market": trade.condition_id,
        "asset_id": trade.token_id,
        "side": trade.side,
        "size": text(units_decimal(trade.size)),
        "fee_rate_bps": text(trade.fee_rate_bps),
        "price": text(price_decimal(trade.price_e4)),
        "status": trade.status,
        "match_time": str(trade.match_time),
        "last_update": str(trade.last_update),
        "outcome": trade.outcome,
        "bucket_index": 0,
        "owner": trade.taker_owner,
        "maker_address": trade.taker_address,
        "transaction_hash": trade.transaction_hash,
        "trader_side": "TAKER" if viewer == trade.taker_owner else "MAKER",
        "maker_orders": [
            {
                "order_id": trade.maker_order_id,
                "owner": trade.maker_owner,
                "maker_address": trade.maker_address,
                "matched_amount": text(units_decimal(trade.size)),
                "price": text(price_decimal(trade.price_e4)),
                "fee_rate_bps": "0",
                "asset_id": trade.token_id,
                "outcome": trade.outcome,
                "side": trade.maker_side,
            }
        ],
    }


def clob_market_info(market: Market) -> dict[str, object]:
    """GET /clob-markets/{condition_id}: the compact shape the SDK builds orders from."""
    body: dict[str, object] = {
        "gst": None,
        "r": {},
        "t": [{"t": t.token_id, "o": t.outcome} for t in market.tokens],
        "mos": market.min_order_size,
        "mts": market.tick_size,
        "mbf": 0,
        "tbf": 0,
        "rfqe": False,
        "ibce": False,
        "fd": {"r": market.fee_rate, "e": market.fee_exponent, "to": True},
        "oas": 0,
    }
    if market.taker_delay_ms:
        body["itode"] = True
    if market.neg_risk:
        body["nr"] = True
    return body


def clob_market(market: Market, last_prices: dict[str, Decimal]) -> dict[str, object]:
    """GET /markets/{condition_id}: the long CLOB market object."""
    return {
        "condition_id": market.condition_id,
        "question": market.title,
        "market_slug": market.slug,
        "tokens": [
            {
                "token_id": t.token_id,
                "outcome": t.outcome,
                "price": last_prices.get(t.token_id, Decimal(0)),
                "winner": False,
            }
            for t in market.tokens
        ],
        "minimum_tick_size": market.tick_size,
        "minimum_order_size": market.min_order_size,
        "neg_risk": market.neg_risk,
        "accepting_orders": market.accepting_orders,
        "active": True,
        "closed": False,
        "enable_order_book": True,
        "maker_base_fee": 0,
        "taker_base_fee": 0,
        "icon": market.icon,
    }


def _profile(row: ActivityRow) -> dict[str, object]:
    return {
        "title": row.title,
        "slug": row.slug,
        "icon": row.icon,
        "eventSlug": row.event_slug,
        "outcome": row.outcome,
        "outcomeIndex": row.outcome_index,
        "name": row.name,
        "pseudonym": row.pseudonym,
        "bio": "",
        "profileImage": "",
        "profileImageOptimized": "",
    }


def data_trade(row: ActivityRow) -> dict[str, object]:
    """A Data API v1 /trades row (camelCase; size and price are JSON numbers)."""
    return {
        "proxyWallet": row.wallet,
        "side": row.side,
        "asset": row.token_id,
        "conditionId": row.condition_id,
        "size": row.size,
        "price": row.price,
        "timestamp": row.timestamp,
        **_profile(row),
        "transactionHash": row.tx_hash,
    }


def data_activity(row: ActivityRow) -> dict[str, object]:
    """A Data API v1 /activity TRADE row."""
    return {
        "proxyWallet": row.wallet,
        "timestamp": row.timestamp,
        "conditionId": row.condition_id,
        "type": "TRADE",
        "size": row.size,
        "usdcSize": row.usdc_size,
        "transactionHash": row.tx_hash,
        "price": row.price,
        "asset": row.token_id,
        "side": row.side,
        **_profile(row),
    }


def data_trade_v2(row: ActivityRow) -> dict[str, object]:
    """A Data API v2 /v2/trades row (snake_case; what the official SDK's list_trades reads)."""
    return {
        "proxy_wallet": row.wallet,
        "side": row.side,
        "token_id": row.token_id,
        "condition_id": row.condition_id,
        "size": row.size,
        "price": row.price,
        "timestamp": row.timestamp,
        "title": row.title,
        "slug": row.slug,
        "icon": row.icon,
        "event_slug": row.event_slug,
        "outcome": row.outcome,
        "outcome_index": row.outcome_index,
        "name": row.name,
        "pseudonym": row.pseudonym,
        "bio": "",
        "profile_image": "",
        "profile_image_optimized": "",
        "transaction_hash": row.tx_hash,
    }


def data_activity_v2(row: ActivityRow) -> dict[str, object]:
    return {**data_trade_v2(row), "type": "TRADE", "usdc_size": row.usdc_size}
