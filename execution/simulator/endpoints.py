"""What the HTTP handlers call: each method takes the Venue's lock, runs due work, does one thing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from . import errors, portfolio, queries, shapes
from .accounts import ApiKeys
from .book import summary
from .constants import MAX_BATCH_ORDERS, PRICE_UNITS
from .engine import Engine
from .errors import VenueError
from .faults import FaultBook
from .intake import Intake, parse_and_verify
from .models import ApiCredentials, Fault, Market, TradingMode
from .sessions import CLOB_SCOPE, SessionRegistry

POST_ONLY_RETRY_AFTER_S = 60


class VenueEndpoints:
    lock: threading.RLock
    clock: Callable[[], float]
    chain_id: int
    version: int
    trading_mode: TradingMode
    min_marketable_buy: Decimal
    engine: Engine
    api_keys: ApiKeys
    faults: FaultBook
    sessions: SessionRegistry
    _deposit_owners: dict[bytes, bytes]

    def authenticate(self, headers: Mapping[str, str], *, method: str, path: str, body: bytes) -> ApiCredentials:
        with self.lock:
            return self.api_keys.authenticate(headers, method=method, path=path, body=body, now=self.clock())

    def create_api_key(self, headers: Mapping[str, str]) -> ApiCredentials:
        with self.lock:
            return self.api_keys.create(headers, self.clock())

    def derive_api_key(self, headers: Mapping[str, str]) -> ApiCredentials:
        with self.lock:
            return self.api_keys.derive(headers, self.clock())

    def api_keys_of(self, address: str) -> list[str]:
        with self.lock:
            return self.api_keys.keys_of(address)

    def revoke_api_key(self, key: str) -> None:
        with self.lock:
            self.api_keys.revoke(key)

    def take_fault(self, method: str, route: str, path: str) -> Fault | None:
        with self.lock:
            return self.faults.take(method, route, path)

    def _check_mode(self, *, post_only: bool) -> None:
        if self.trading_mode == "cancel_only":
            raise VenueError(errors.CANCEL_ONLY, 503)
        if self.trading_mode == "disabled":
            raise VenueError(errors.TRADING_DISABLED, 503)
        if self.trading_mode == "post_only" and not post_only:
            raise VenueError(
                errors.POST_ONLY_MODE,
                503,
                extra={"code": "post_only_mode", "retry_after_seconds": POST_ONLY_RETRY_AFTER_S},
                headers={"Retry-After": str(POST_ONLY_RETRY_AFTER_S)},
            )

    def place(self, payload: object, credentials: ApiCredentials) -> dict[str, object]:
        with self.lock:
            now = self.clock()
            self.engine.run_due(now)
            post_only = isinstance(payload, dict) and payload.get("postOnly") is True
            self._check_mode(post_only=post_only)
            intake, market = parse_and_verify(
                payload,
                credentials=credentials,
                markets_by_token=self.engine.markets_by_token,
                chain_id=self.chain_id,
                now=now,
                min_marketable_buy=self.min_marketable_buy,
                session_authorized=lambda wallet, key: self.sessions.allows(wallet, key, CLOB_SCOPE, now),
                registered_owner=self._deposit_owners.get,
            )
            self._check_restriction(intake)
            order, trades, status = self.engine.submit(intake, market, now)
            return shapes.order_response(order, trades, status)

    def _check_restriction(self, intake: Intake) -> None:
        restriction = self.engine.ledger.account(intake.maker).restriction
        if restriction == "banned":
            raise VenueError(errors.address_banned(intake.maker))
        if restriction == "closed_only" and intake.side == "BUY":
            raise VenueError(errors.address_closed_only(intake.maker))
        if restriction == "deposit_wallet_flow" and intake.signature_type != 3:
            raise VenueError(errors.MAKER_NOT_ALLOWED)

    def place_batch(self, payloads: object, credentials: ApiCredentials) -> list[dict[str, object]]:
        if not isinstance(payloads, list):
            raise VenueError(errors.INVALID_ORDER_PAYLOAD)
        if len(payloads) > MAX_BATCH_ORDERS:
            raise VenueError(errors.too_many_orders(len(payloads), MAX_BATCH_ORDERS))
        with self.lock:
            if self.trading_mode in ("cancel_only", "disabled"):
                self._check_mode(post_only=False)
            out = []
            for payload in payloads:
                try:
                    out.append(self.place(payload, credentials))
                except VenueError as refusal:
                    out.append(shapes.batch_error(refusal.message))
            return out

    def cancel(self, order_ids: Iterable[object], credentials: ApiCredentials) -> dict[str, object]:
        with self.lock:
            if self.trading_mode == "disabled":
                raise VenueError(errors.TRADING_DISABLED, 503)
            self.engine.run_due(self.clock())
            canceled: list[str] = []
            not_canceled: dict[str, str] = {}
            for raw in order_ids:
                if not isinstance(raw, str) or not raw.startswith("0x") or len(raw) != 66:
                    raise VenueError(errors.INVALID_ORDER_ID)
                order_id = raw.lower()
                order = self.engine.orders_by_owner.get(credentials.key, {}).get(order_id)
                if order is not None and self.engine.cancel(order):
                    canceled.append(order_id)
                else:
                    not_canceled[order_id] = errors.ORDER_NOT_CANCELABLE
            return {"canceled": canceled, "not_canceled": not_canceled}

    def cancel_all(self, credentials: ApiCredentials) -> dict[str, object]:
        with self.lock:
            open_ids = [o.order_id for o in self.engine.orders_by_owner.get(credentials.key, {}).values() if o.is_open]
            return self.cancel(open_ids, credentials)

    def order_for(self, order_id: str, credentials: ApiCredentials) -> dict[str, object] | None:
        if not order_id.startswith("0x") or len(order_id) != 66:
            raise VenueError(errors.INVALID_ORDER_ID)
        with self.lock:
            self.engine.run_due(self.clock())
            order = self.engine.orders_by_owner.get(credentials.key, {}).get(order_id.lower())
            if order is None:
                return None
            return shapes.open_order(order, self.engine.markets[order.condition_id])

    def open_orders(self, credentials: ApiCredentials, params: Mapping[str, str]) -> dict[str, object]:
        with self.lock:
            self.engine.run_due(self.clock())
            return queries.open_orders(self.engine, credentials, params)

    def account_trades(self, credentials: ApiCredentials, params: Mapping[str, str]) -> dict[str, object]:
        with self.lock:
            self.engine.run_due(self.clock())
            return queries.account_trades(self.engine, credentials, params)

    def balance_allowance(self, credentials: ApiCredentials, params: Mapping[str, str]) -> dict[str, object]:
        with self.lock:
            self.engine.run_due(self.clock())
            return queries.balance_allowance(self.engine, credentials, params)

    def book(self, token_id: str) -> dict[str, object]:
        if not token_id.isdecimal():
            raise VenueError(errors.INVALID_TOKEN_ID)
        with self.lock:
            self.engine.run_due(self.clock())
            market = self.engine.markets_by_token.get(token_id)
            if market is None:
                raise VenueError(errors.NO_ORDERBOOK, 404)
            book = self.engine.books[token_id]
            book.prune()
            return summary(
                book,
                condition_id=market.condition_id,
                timestamp_ms=int(self.clock() * 1000),
                min_order_size=errors.text(market.min_order_size),
                tick_size=errors.text(market.tick_size),
                neg_risk=market.neg_risk,
            )

    def market_for_token(self, token_id: str) -> Market:
        if not token_id.isdecimal():
            raise VenueError(errors.INVALID_TOKEN_ID)
        with self.lock:
            market = self.engine.markets_by_token.get(token_id)
            if market is None:
                raise VenueError(errors.MARKET_NOT_FOUND, 404)
            return market

    def market_for_condition(self, condition_id: str) -> Market:
        if not condition_id.startswith("0x") or len(condition_id) != 66:
            raise VenueError(errors.INVALID_MARKET)
        with self.lock:
            market = self.engine.markets.get(condition_id.lower())
            if market is None:
                raise VenueError(errors.MARKET_NOT_FOUND, 404)
            return market

    def last_prices(self, market: Market) -> dict[str, Decimal]:
        with self.lock:
            out = {}
            for token in market.tokens:
                last = self.engine.books[token.token_id].last_trade_price_e4
                if last is not None:
                    out[token.token_id] = Decimal(last) / PRICE_UNITS
            return out

    def data_trades(self, params: Mapping[str, str]) -> list[dict[str, object]]:
        with self.lock:
            self.engine.run_due(self.clock())
            return queries.data_trades(self.engine, params)

    def data_activity(self, params: Mapping[str, str]) -> list[dict[str, object]]:
        with self.lock:
            self.engine.run_due(self.clock())
            return queries.data_activity(self.engine, params)

    def data_trades_v2(self, params: Mapping[str, str]) -> dict[str, object]:
        with self.lock:
            self.engine.run_due(self.clock())
            return queries.data_trades_v2(self.engine, params)

    def data_activity_v2(self, params: Mapping[str, str]) -> dict[str, object]:
        with self.lock:
            self.engine.run_due(self.clock())
            return queries.data_activity_v2(self.engine, params)

    def data_positions(self, params: Mapping[str, str]) -> list[dict[str, object]]:
        with self.lock:
            self.engine.run_due(self.clock())
            return portfolio.positions(self.engine, params)
