"""Data API poller: ``GET /trades?user=<leader>&takerOnly=false``, one poll per leader.

``takerOnly`` defaults to true on the venue, which hides the leader's resting-order fills, so it
is always sent as false. The per-leader cursor is the newest trade second taken plus the
transaction hashes already taken at that second: a row is new when its second is later, or when
it shares the cursor second with a transaction not yet taken. Neither ``>=`` (re-decides every
fill at the cursor second) nor ``>`` (misses a second fill landing in the same second) alone is
right.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from copytrading.detection.budget import RequestBudget, data_api_trades_budget
from copytrading.detection.metrics import DETECTION_ERRORS
from copytrading.detection.record import RecordResult, TradeObservation, leader_trades_record
from copytrading.models import CopyRelationship, LeaderTrade, WatchedWallet, live_follows

logger = logging.getLogger(__name__)

PAGE_LIMIT = 500  # the documented cap on `limit` (changelog 2025-08-26)
MAX_OFFSET = 1000  # the documented cap on `offset`; past it the API errors or repeats rows
POLL_LEASE = timedelta(seconds=30)
TIMEOUT = httpx.Timeout(connect=2.0, read=5.0, write=2.0, pool=2.0)
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 10.0
_TX = re.compile(r"^0x[0-9a-f]{64}$")
_TOKEN = re.compile(r"^[0-9]{1,80}$")
_CONDITION = re.compile(r"^0x[0-9a-f]{64}$")
# What a leader trade's `raw` keeps of a row: the trade, not the trader's profile.
RAW_FIELDS = (
    "proxyWallet",
    "side",
    "asset",
    "conditionId",
    "size",
    "price",
    "usdcSize",
    "timestamp",
    "transactionHash",
    "type",
    "outcome",
    "outcomeIndex",
    "title",
    "slug",
)


_LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z


class DataApiError(Exception):
    """The Data API refused the request for good (4xx other than 429): not retried this poll."""


class DataApiUnavailable(DataApiError):
    """429, 5xx or transport failures persisted through the backoff: try again next tick."""


class MalformedRow(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TradeRow:
    """The fields of a /trades (or /activity TRADE) row that detection uses."""

    wallet: str
    tx_hash: str
    token_id: str
    side: str
    size: Decimal
    price: Decimal
    timestamp: int
    condition_id: str
    raw: dict[str, Any]

    def observation(self) -> TradeObservation:
        return TradeObservation(
            leader=self.wallet,
            tx_hash=self.tx_hash,
            token_id=self.token_id,
            side=self.side,
            shares=self.size,
            usdc=self.size * self.price,
            occurred_at=datetime.fromtimestamp(self.timestamp, tz=UTC),
            # No log index in the Data API: identical rows are the same leg seen twice (offset
            # pages shift while trades arrive); rows differing in size or price are other legs.
            leg_id=f"row:{self.size.normalize()}:{self.price.normalize()}",
            condition_id=self.condition_id,
            raw=self.raw,
        )


def _decimal(value: Any, *, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise MalformedRow(f"{field} is not a number: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MalformedRow(f"{field} is not a number: {value!r}") from None
    if not number.is_finite():
        raise MalformedRow(f"{field} is not finite")
    return number


def parse_trade_row(row: Mapping[str, Any]) -> TradeRow:
    """Validate one row (numbers parsed as Decimal, never float). Raises MalformedRow."""
    side = row.get("side")
    if side not in ("BUY", "SELL"):
        raise MalformedRow(f"side {side!r}")
    wallet = str(row.get("proxyWallet", "")).lower()
    tx_hash = str(row.get("transactionHash", "")).lower()
    token_id = str(row.get("asset", ""))
    if not re.match(r"^0x[0-9a-f]{40}$", wallet) or not _TX.match(tx_hash) or not _TOKEN.match(token_id):
        raise MalformedRow(f"wallet/tx/asset malformed: {wallet!r} {tx_hash!r} {token_id!r}")
    size = _decimal(row.get("size"), field="size")
    price = _decimal(row.get("price"), field="price")
    if size <= 0 or not (0 < price < 1):
        raise MalformedRow(f"size {size} / price {price} out of range")
    timestamp = row.get("timestamp")
    # Past datetime's last second a row cannot become a trade (S36: it raised OverflowError later).
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 < timestamp <= _LAST_SECOND:
        raise MalformedRow(f"timestamp {timestamp!r}")
    condition_id = str(row.get("conditionId", "")).lower()
    return TradeRow(
        wallet=wallet,
        tx_hash=tx_hash,
        token_id=token_id,
        side=side,
        size=size,
        price=price,
        timestamp=timestamp,
        condition_id=condition_id if _CONDITION.match(condition_id) else "",
        raw={k: _jsonable(row[k]) for k in RAW_FIELDS if k in row},
    )


def _jsonable(value: Any) -> Any:
    # Exact decimal text, not a float: raw is what the venue said.
    return str(value) if isinstance(value, Decimal) else value


def loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


@dataclass(frozen=True, slots=True)
class DataApiCursor:
    """Newest trade second taken, and the transactions already taken at that second."""

    ts: int | None
    txs: frozenset[str]

    @classmethod
    def of(cls, wallet: WatchedWallet) -> DataApiCursor:
        return cls(ts=wallet.data_api_cursor_ts, txs=frozenset(wallet.data_api_cursor_txs or ()))

    def is_new(self, row: TradeRow) -> bool:
        if self.ts is None or row.timestamp > self.ts:
            return True
        return row.timestamp == self.ts and row.tx_hash not in self.txs

    def advanced(self, rows: Iterable[TradeRow]) -> DataApiCursor:
        """The cursor after taking ``rows``; never moves back."""
        ts, txs = self.ts, set(self.txs)
        for row in rows:
            if ts is None or row.timestamp > ts:
                ts, txs = row.timestamp, {row.tx_hash}
            elif row.timestamp == ts:
                txs.add(row.tx_hash)
        return DataApiCursor(ts=ts, txs=frozenset(txs))

    def merged(self, other: DataApiCursor) -> DataApiCursor:
        """Combine with a cursor another poll stored meanwhile (a lease that ran out)."""
        if other.ts is None:
            return self
        if self.ts is None or other.ts > self.ts:
            return other
        if other.ts == self.ts:
            return DataApiCursor(ts=self.ts, txs=self.txs | other.txs)
        return self


class DataApiClient:
    """GET /trades with explicit timeouts, the shared request budget and backoff on 429/5xx."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        budget: RequestBudget | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_seconds: float = 0.5,
    ) -> None:
        self._base_url = (base_url or settings.POLYMARKET_DATA_URL).rstrip("/")
        self._budget = budget or data_api_trades_budget()
        self._http = http or httpx.Client(timeout=TIMEOUT)
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds

    def close(self) -> None:
        self._http.close()

    def trades_page(self, *, user: str, limit: int, offset: int) -> list[Mapping[str, Any]]:
        params = {"user": user, "takerOnly": "false", "limit": str(limit), "offset": str(offset)}
        body = self._get("/trades", params=params)
        if not isinstance(body, list):
            raise DataApiError(f"/trades answered a {type(body).__name__}, not a list")
        return [row for row in body if isinstance(row, Mapping)]

    def get_json(self, path: str, *, params: Mapping[str, str]) -> Any:
        """Any Data API read (``/activity``, ``/positions``, …) under the same budget and backoff."""
        return self._get(path, params=params)

    def _get(self, path: str, *, params: Mapping[str, str]) -> Any:
        last = ""
        last_retry_after: float | None = None
        for attempt in range(self._max_attempts):
            if attempt:
                self._sleep(self._delay(attempt, last_retry_after))
            self._budget.take(max_wait=5.0)
            last_retry_after = None
            try:
                response = self._http.get(self._base_url + path, params=params)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                last_retry_after = _retry_after(response)
                continue
            if response.status_code != 200:
                raise DataApiError(f"GET {path} answered HTTP {response.status_code}: {response.text[:200]}")
            try:
                return loads(response.text)
            except ValueError:
                raise DataApiError(f"GET {path} answered invalid JSON") from None
        raise DataApiUnavailable(f"GET {path} failed {self._max_attempts} times, last: {last}")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        # Full jitter, so workers backing off together do not come back together.
        return random.uniform(0, self._backoff * 2**attempt)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class PollResult:
    leased: bool
    pages: int = 0
    rows_seen: int = 0
    rows_new: int = 0
    malformed: int = 0
    record: RecordResult | None = None
    cursor_ts: int | None = None
    gap: bool = False


def fetch_new_rows(
    *, client: DataApiClient, leader: str, cursor: DataApiCursor, limit: int = PAGE_LIMIT
) -> tuple[list[TradeRow], int, int, bool]:
    """Page /trades (newest first) until past the cursor; returns (all rows, pages, malformed, gap).

    A first poll (no cursor) reads one page: the leader's history before we watched is not a
    detection. ``gap`` is true when the offset cap stopped us before reaching the cursor.
    """
    rows: list[TradeRow] = []
    malformed = 0
    offset = 0
    pages = 0
    while True:
        page = client.trades_page(user=leader, limit=limit, offset=offset)
        pages += 1
        for raw in page:
            try:
                row = parse_trade_row(raw)
            except MalformedRow as exc:
                malformed += 1
                logger.warning("data api: skipping a malformed /trades row of %s: %s", leader, exc)
                continue
            if row.wallet == leader:
                rows.append(row)
        timestamps = [r["timestamp"] for r in page if isinstance(r.get("timestamp"), int)]
        if len(page) < limit or cursor.ts is None or not timestamps or min(timestamps) < cursor.ts:
            return rows, pages, malformed, False
        offset += limit
        if offset > MAX_OFFSET:
            return rows, pages, malformed, True


def _claim(*, wallet_id: int, now: datetime) -> bool:
    claimed = (
        WatchedWallet.objects.filter(id=wallet_id)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lte=now))
        .update(poll_lease_until=now + POLL_LEASE)
    )
    return claimed == 1


def leader_poll(*, wallet_id: int, client: DataApiClient | None = None, limit: int = PAGE_LIMIT) -> PollResult:
    """Poll one leader's new trades and record them; a no-op when another worker holds the lease."""
    now = timezone.now()
    if not _claim(wallet_id=wallet_id, now=now):
        return PollResult(leased=False)
    owned = client is None
    client = client or DataApiClient()
    try:
        return _poll(wallet_id=wallet_id, client=client, started=now, limit=limit)
    except DataApiError as exc:
        DETECTION_ERRORS.labels(detector="data_api", kind=type(exc).__name__).inc()
        raise
    finally:
        WatchedWallet.objects.filter(id=wallet_id).update(poll_lease_until=None, data_api_polled_at=timezone.now())
        if owned:
            client.close()


def _poll(*, wallet_id: int, client: DataApiClient, started: datetime, limit: int) -> PollResult:
    wallet = WatchedWallet.objects.get(id=wallet_id)
    cursor = DataApiCursor.of(wallet)
    rows, pages, malformed, gap = fetch_new_rows(client=client, leader=wallet.address, cursor=cursor, limit=limit)
    if gap:
        DETECTION_ERRORS.labels(detector="data_api", kind="offset_cap").inc()
        logger.warning("data api: %s has more new trades than one poll can page; the oldest are left", wallet)
    new_rows = [row for row in rows if cursor.is_new(row)]
    if cursor.ts is None:
        # First poll: only what is still fresh is a detection; the rest only places the cursor.
        horizon = started.timestamp() - settings.DETECT_MAX_AGE_SECONDS
        new_rows = [row for row in new_rows if row.timestamp >= horizon]
    advanced = cursor.advanced(rows)
    with transaction.atomic():
        observations = [row.observation() for row in new_rows]
        result = leader_trades_record(observations=observations, source=LeaderTrade.Source.DATA_API)
        locked = WatchedWallet.objects.select_for_update().get(id=wallet_id)
        stored = advanced.merged(DataApiCursor.of(locked))
        WatchedWallet.objects.filter(id=wallet_id).update(
            data_api_cursor_ts=stored.ts, data_api_cursor_txs=sorted(stored.txs)
        )
    return PollResult(
        leased=True,
        pages=pages,
        rows_seen=len(rows),
        rows_new=len(new_rows),
        malformed=malformed,
        record=result,
        cursor_ts=stored.ts,
        gap=gap,
    )


def polled_leaders() -> QuerySet[WatchedWallet]:
    """The leaders the Data API poller serves: those with a live follow."""
    return WatchedWallet.objects.filter(Exists(CopyRelationship.objects.filter(live_follows(), leader=OuterRef("pk"))))


def leaders_due(*, now: datetime | None = None, every_seconds: float | None = None) -> list[int]:
    """Ids of leaders with a live follow whose last poll is older than the poll interval and not
    leased now. A wallet nobody copies any more costs the shared request budget nothing."""
    now = now or timezone.now()
    every = timedelta(seconds=settings.DETECT_POLL_SECONDS if every_seconds is None else every_seconds)
    return list(
        polled_leaders()
        .filter(Q(data_api_polled_at__isnull=True) | Q(data_api_polled_at__lte=now - every))
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lte=now))
        .order_by(F("data_api_polled_at").asc(nulls_first=True), "id")
        .values_list("id", flat=True)
    )
