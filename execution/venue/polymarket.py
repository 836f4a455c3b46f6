"""The Polymarket CLOB implementation of ``VenueGateway``, over our own shared HTTP transports.

Orders and order lookups go through the process-wide ``http.client`` keep-alive pool
(``pool.py``: the hot path, a fraction of httpx's CPU per request); reads of market data,
trades and balances through the shared httpx client (``transport.py``). Both tell a request
that never left from one whose answer was lost.

One instance per process is enough: it is thread-safe and shares the connections, the
book cache (<= 5 s, one in-flight fetch per token), the market cache (TTL, bounded) and the
version canary across threads.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

import httpx

from execution.venue.auth import ApiCredentials, l2_headers
from execution.venue.cache import SingleFlightCache
from execution.venue.canary import VersionCanary, VersionCheck, record_venue_health
from execution.venue.classify import Classification, RawBody, classify_post_response
from execution.venue.clock import VenueClock, parse_server_time
from execution.venue.environment import VenueSettings
from execution.venue.errors import (
    AnswerLost,
    CredentialsMismatch,
    NotSent,
    UnexpectedAnswer,
    VenueError,
    VenueRefused,
    VenueUnavailable,
)
from execution.venue.lookup import (
    BalanceAllowance,
    OrderLookup,
    TradesPage,
    classify_order_lookup,
    parse_balance_allowance,
    parse_trades_page,
)
from execution.venue.markets import (
    MarketTitle,
    OrderBook,
    parse_book,
    parse_clob_market,
    parse_condition_id,
    parse_market_title,
)
from execution.venue.metrics import endpoint_name, venue_observed
from execution.venue.orders import MarketInfo
from execution.venue.payload import SignedOrderPayload
from execution.venue.pool import ConnectionPool, shared_pool
from execution.venue.session import REGISTRY_PATH, SessionRegistry, parse_session_registry
from execution.venue.transport import HttpAnswer, send, shared_client
from polyhunter.log_redaction import short_hash

logger = logging.getLogger(__name__)

MAX_BOOK_TTL_SECONDS = 5.0


class PolymarketGateway:
    def __init__(
        self,
        venue: VenueSettings | None = None,
        *,
        client: httpx.Client | None = None,
        pool: ConnectionPool | None = None,
        book_ttl_seconds: float = 2.0,
        market_ttl_seconds: float = 300.0,
        version_ttl_seconds: float = 30.0,
        max_books: int = 2048,
        max_markets: int = 4096,
        record_health: bool = True,
    ) -> None:
        if book_ttl_seconds > MAX_BOOK_TTL_SECONDS:
            raise ValueError(f"book quotes may be cached for at most {MAX_BOOK_TTL_SECONDS} s")
        self.venue = venue or VenueSettings.from_settings()
        self._client = client or shared_client(
            connect_timeout=self.venue.connect_timeout, read_timeout=self.venue.read_timeout
        )
        self._pool = pool or shared_pool(
            connect_timeout=self.venue.connect_timeout, read_timeout=self.venue.read_timeout
        )
        wait = float(self.venue.connect_timeout + self.venue.read_timeout) + 1.0
        self._books: SingleFlightCache[str, OrderBook] = SingleFlightCache(
            ttl_seconds=book_ttl_seconds, max_entries=max_books, wait_seconds=wait
        )
        self._markets: SingleFlightCache[str, MarketInfo] = SingleFlightCache(
            ttl_seconds=market_ttl_seconds, max_entries=max_markets, wait_seconds=4 * wait
        )
        self._titles: SingleFlightCache[str, MarketTitle] = SingleFlightCache(
            ttl_seconds=max(market_ttl_seconds, 3600.0), max_entries=max_markets, wait_seconds=wait
        )
        # token -> condition id never changes; market facts (tick, accepting) do, hence two caches.
        self._conditions: SingleFlightCache[str, str] = SingleFlightCache(
            ttl_seconds=max(market_ttl_seconds, 3600.0), max_entries=4 * max_markets, wait_seconds=wait
        )
        # Venue time for the L1/L2 timestamps and the pipeline's leader-trade ages (gateway.venue_clock()).
        self.clock = VenueClock(read_time=self.server_seconds)
        self.canary = VersionCanary(
            fetch_version=self.version,
            ttl_seconds=version_ttl_seconds,
            record=record_venue_health if record_health else None,
        )

    # Orders

    def place(self, payload: SignedOrderPayload, *, creds: ApiCredentials) -> Classification:
        self.canary.ensure()
        payload.verify()
        if payload.owner != creds.key:
            raise CredentialsMismatch(f"order {payload.order_hash} was signed for another API key than the one given")
        headers = l2_headers(
            creds=creds,
            address=payload.api_address,
            method="POST",
            path=payload.path,
            body=payload.body,
            timestamp=self._stamp(),
        )
        headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            answer = self._pool.send("POST", self._clob(payload.path), content=payload.body.encode(), headers=headers)
        except NotSent as exc:
            verdict = Classification.not_sent(exc.detail)
        except AnswerLost as exc:
            verdict = classify_post_response(None, RawBody(exc.detail))
        else:
            verdict = classify_post_response(answer.status, answer.body)
        venue_observed(
            endpoint="post_order", kind=verdict.kind, reason=verdict.reason, seconds=time.perf_counter() - started
        )
        # Every order is on its CopyTrade row, and the pipeline logs each fault with its copy's id.
        logger.debug(
            "order %s POST: %s/%s (http %s)",
            short_hash(payload.order_hash),
            verdict.kind,
            verdict.reason,
            verdict.http_status,
        )
        return verdict

    def get_order(self, order_hash: str, *, creds: ApiCredentials, address: str) -> OrderLookup:
        path = f"/data/order/{order_hash}"
        headers = l2_headers(creds=creds, address=address, method="GET", path=path, body=None, timestamp=self._stamp())
        started = time.perf_counter()
        try:
            answer = self._pool.send("GET", self._clob(path), headers=headers)
        except (NotSent, AnswerLost) as exc:
            lookup = OrderLookup(kind="unknown", reason=exc.reason, detail=exc.detail)
        else:
            lookup = classify_order_lookup(answer.status, answer.body, order_hash=order_hash)
        venue_observed(
            endpoint="order_lookup", kind=lookup.kind, reason=lookup.reason, seconds=time.perf_counter() - started
        )
        return lookup

    def trades(
        self,
        *,
        creds: ApiCredentials,
        address: str,
        maker_address: str | None = None,
        trade_id: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
        after: int | None = None,
        before: int | None = None,
        cursor: str | None = None,
    ) -> TradesPage:
        path = "/data/trades"
        wanted = {
            "id": trade_id,
            "maker_address": maker_address,
            "market": market,
            "asset_id": asset_id,
            "after": after,
            "before": before,
            "next_cursor": cursor,
        }
        params = {key: str(value) for key, value in wanted.items() if value is not None}
        headers = l2_headers(creds=creds, address=address, method="GET", path=path, body=None, timestamp=self._stamp())
        # Over the keep-alive pool, like order lookups: the reconciler reads trades for every
        # account with fills to confirm (httpx cost ~5x the CPU per request, docs/performance.md).
        answer = self._pool.send("GET", self._clob(path), params=params, headers=headers)
        _raise_for_status(path, answer)
        return parse_trades_page(answer.body)

    def balance_allowance(
        self, *, creds: ApiCredentials, address: str, asset_type: str, signature_type: int, token_id: str | None = None
    ) -> BalanceAllowance:
        path = "/balance-allowance"
        params = {"asset_type": asset_type, "signature_type": str(signature_type)}
        if token_id is not None:
            params["token_id"] = token_id
        headers = l2_headers(creds=creds, address=address, method="GET", path=path, body=None, timestamp=self._stamp())
        return parse_balance_allowance(self._read(path, params=params, headers=headers))

    def session_registry(self, *, creds: ApiCredentials, address: str) -> SessionRegistry:
        """The deposit wallet behind these credentials and its active session signers."""
        headers = l2_headers(
            creds=creds, address=address, method="GET", path=REGISTRY_PATH, body=None, timestamp=self._stamp()
        )
        return parse_session_registry(self._read(REGISTRY_PATH, headers=headers))

    # Market data

    def book(self, token_id: str) -> OrderBook:
        return self._books.get(token_id, lambda: self.fetch_book(token_id))

    def fetch_book(self, token_id: str) -> OrderBook:
        """An uncached ``/book`` read."""
        return parse_book(self._read("/book", params={"token_id": token_id}), token_id=token_id)

    def market_info(self, token_id: str) -> MarketInfo:
        condition_id = self._conditions.get(token_id, lambda: self._fetch_condition(token_id))
        return self._markets.get(condition_id, lambda: self._fetch_market(condition_id, token_id))

    def market_title(self, token_id: str) -> MarketTitle:
        """The market's question and outcome names (for pages; cached an hour, one fetch at a time)."""
        condition_id = self._conditions.get(token_id, lambda: self._fetch_condition(token_id))
        return self._titles.get(
            condition_id,
            lambda: parse_market_title(self._read(f"/markets/{condition_id}"), condition_id=condition_id),
        )

    def forget_market(self, token_id: str) -> None:
        """Drop cached market facts (e.g. after a tick-size change or a tick-size rejection)."""
        condition_id = self._conditions.peek(token_id)
        if condition_id is not None:
            self._markets.invalidate(condition_id)

    def _fetch_condition(self, token_id: str) -> str:
        return parse_condition_id(self._read(f"/markets-by-token/{token_id}"))[0]

    def _fetch_market(self, condition_id: str, token_id: str) -> MarketInfo:
        body = self._read(f"/clob-markets/{condition_id}")
        fallback = None
        if isinstance(body, dict) and body.get("mos") in (None, ""):
            fallback = self.book(token_id).min_order_size
        return parse_clob_market(
            body,
            condition_id=condition_id,
            accepting_orders=self._accepting_orders(condition_id),
            fallback_min_size=fallback,
        )

    def _accepting_orders(self, condition_id: str) -> bool | None:
        # Only the long CLOB market object says whether the market accepts orders. Best effort:
        # without it the venue itself refuses ("the market is not yet ready to process new orders").
        try:
            body = self._read(f"/markets/{condition_id}")
        except VenueError as exc:
            logger.warning("accepting_orders of %s unknown: %s", short_hash(condition_id), exc.detail)
            return None
        value = body.get("accepting_orders") if isinstance(body, dict) else None
        return value if isinstance(value, bool) else None

    # Venue

    def server_time(self) -> int:
        return int(self.server_seconds())

    def server_seconds(self) -> Decimal:
        """The venue's unix time exactly as ``/time`` answers it (whole seconds from Polymarket)."""
        return parse_server_time(self._read("/time"))

    def version(self) -> int:
        body = self._read("/version")
        return _whole_number(body.get("version") if isinstance(body, dict) else None, "/version", body)

    def check_version(self) -> VersionCheck:
        return self.canary.ensure()

    # Plumbing

    def _stamp(self) -> int:
        """The L1/L2 ``POLY_TIMESTAMP``: venue time, which the venue checks within 30 s (raises
        VenueClockUnknown, before anything is sent, when there is no trusted venue time)."""
        return int(self.clock.now())

    def _clob(self, path: str) -> str:
        return self.venue.clob_url + path

    def _read(
        self, path: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> object:
        endpoint, started = endpoint_name(path), time.perf_counter()
        try:
            answer = send(self._client, "GET", self._clob(path), params=params, headers=headers)
        except VenueError as exc:
            venue_observed(endpoint=endpoint, kind=exc.reason, reason="none", seconds=time.perf_counter() - started)
            raise
        ok = 200 <= answer.status < 300
        kind = "ok" if ok else ("unavailable" if answer.status in (425, 429) or answer.status >= 500 else "refused")
        venue_observed(
            endpoint=endpoint, kind=kind, reason=f"http_{answer.status}", seconds=time.perf_counter() - started
        )
        _raise_for_status(path, answer)
        return answer.body


def _whole_number(value: object, path: str, body: object) -> int:
    if isinstance(value, Decimal) and value.is_finite() and value >= 0 and value == value.to_integral_value():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise UnexpectedAnswer(f"{path} answer is not a whole number: {body!r}")
    return int(value)


def _raise_for_status(path: str, answer: HttpAnswer) -> None:
    status = answer.status
    if 200 <= status < 300:
        return
    body = answer.body
    message = body.get("error") if isinstance(body, dict) else None
    text = message if isinstance(message, str) else (body.text if isinstance(body, RawBody) else str(body))
    if status in (425, 429) or status >= 500:
        raise VenueUnavailable(f"GET {path}: HTTP {status}: {text[:200]}")
    raise VenueRefused(f"GET {path}: HTTP {status}: {text[:200]}", status=status, message=text[:300])
