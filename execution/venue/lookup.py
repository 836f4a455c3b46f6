"""Reading the truth back: ``GET /data/order/{hash}`` and ``GET /data/trades`` answers.

``classify_order_lookup`` tells apart *found* (with the venue status and size matched), *not
found* (404, or a 200 whose body is null/empty) and *unknown* (no answer, 5xx, 429, auth or an
unreadable body): only "not found" may count towards re-sending the same signed bytes.

Trade statuses arrive with or without the ``TRADE_STATUS_`` prefix (REST vs stream) and order
statuses with or without ``ORDER_STATUS_``; both are normalised to the bare upper-case form.
``size_matched`` is passed through as the venue's decimal string (shares); older
venue docs described 6-decimal fixed point, so the simulator and the
recorded fixtures are the arbiter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Literal

from execution.venue.classify import RawBody
from execution.venue.errors import UnexpectedAnswer
from execution.venue.orders import FeeSchedule

USDC_UNIT = Decimal("0.000001")

LookupKind = Literal["found", "not_found", "unknown"]
OPEN_ORDER_STATUSES = frozenset({"LIVE", "DELAYED"})
DEAD_ORDER_STATUSES = frozenset({"CANCELED", "CANCELED_MARKET_RESOLVED", "INVALID", "UNMATCHED"})
# Every order status the venue documents. Any other is an answer we do not understand: the
# lookup is "unknown" and asked again, never a verdict (reliability S36).
ORDER_STATUSES = OPEN_ORDER_STATUSES | DEAD_ORDER_STATUSES | {"MATCHED"}
TRADE_STATUSES = frozenset({"MATCHED", "MATCHED_NOT_BROADCASTED", "MINED", "CONFIRMED", "RETRYING", "FAILED"})
FINAL_TRADE_STATUSES = frozenset({"CONFIRMED", "FAILED"})
END_CURSOR = "LTE="
_BASE_UNITS = Decimal(10) ** 6


@dataclass(frozen=True, kw_only=True)
class VenueOrder:
    """An order as the venue reports it. ``status`` e.g. LIVE, MATCHED, CANCELED, INVALID."""

    order_id: str
    status: str
    size_matched: Decimal
    original_size: Decimal | None = None
    price: Decimal | None = None
    side: str = ""
    asset_id: str = ""
    maker_address: str = ""
    order_type: str = ""
    associate_trades: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES

    @property
    def is_dead(self) -> bool:
        """Cancelled, invalid or unmatched: it will never fill beyond ``size_matched``."""
        return self.status in DEAD_ORDER_STATUSES or self.status.startswith("CANCELED")


@dataclass(frozen=True, kw_only=True)
class OrderLookup:
    kind: LookupKind
    order: VenueOrder | None = None
    reason: str = ""
    detail: str = ""
    http_status: int | None = None


def classify_order_lookup(http_status: int | None, body: object, *, order_hash: str) -> OrderLookup:
    """Classify one answer to ``GET /data/order/{order_hash}`` (``http_status=None``: no answer)."""
    if http_status is None:
        return OrderLookup(kind="unknown", reason="transport_error", detail=_text(body))
    if http_status == 404:
        return OrderLookup(kind="not_found", reason="not_found", detail=_text(body), http_status=404)
    if not 200 <= http_status < 300:
        return OrderLookup(kind="unknown", reason=f"http_{http_status}", detail=_text(body), http_status=http_status)
    if body is None or body == {}:
        return OrderLookup(kind="not_found", reason="empty_answer", http_status=http_status)
    if not isinstance(body, dict):
        return OrderLookup(kind="unknown", reason="unreadable_body", detail=_text(body), http_status=http_status)
    try:
        order = parse_venue_order(body)
    except UnexpectedAnswer as exc:
        return OrderLookup(kind="unknown", reason="malformed_answer", detail=exc.detail, http_status=http_status)
    if order.order_id.lower() != order_hash.lower():
        detail = f"asked for {order_hash}, got {order.order_id}"
        return OrderLookup(kind="unknown", reason="other_order", detail=detail, http_status=http_status)
    return OrderLookup(kind="found", order=order, http_status=http_status)


def parse_venue_order(body: dict[str, object]) -> VenueOrder:
    order_id, status = body.get("id"), body.get("status")
    if not isinstance(order_id, str) or not order_id or not isinstance(status, str) or not status:
        raise UnexpectedAnswer("order answer lacks id or status")
    normalized = normalize_status(status, prefix="ORDER_STATUS_")
    if normalized not in ORDER_STATUSES:
        raise UnexpectedAnswer(f"order {order_id} has unknown status {status!r}")
    return VenueOrder(
        order_id=order_id,
        status=normalized,
        size_matched=_decimal(body.get("size_matched", "0"), "size_matched"),
        original_size=_optional_decimal(body.get("original_size"), "original_size"),
        price=_optional_decimal(body.get("price"), "price"),
        side=str(body.get("side", "")),
        asset_id=str(body.get("asset_id", "")),
        maker_address=str(body.get("maker_address", "")),
        order_type=str(body.get("order_type", "")),
        associate_trades=_strings(body.get("associate_trades"), "associate_trades"),
    )


@dataclass(frozen=True, kw_only=True)
class MakerFill:
    order_id: str
    matched_amount: Decimal
    price: Decimal
    maker_address: str = ""
    side: str = ""


@dataclass(frozen=True, kw_only=True)
class VenueTrade:
    """One ``/data/trades`` row (only the account's own trades). ``status`` without prefix."""

    trade_id: str
    status: str
    taker_order_id: str
    side: str
    size: Decimal
    price: Decimal
    asset_id: str = ""
    market: str = ""
    trader_side: str = ""
    maker_address: str = ""
    transaction_hash: str = ""
    match_time: str = ""
    fee_rate_bps: Decimal | None = None
    maker_orders: tuple[MakerFill, ...] = field(default_factory=tuple)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_TRADE_STATUSES

    def usdc_for_order(self, order_hash: str) -> Decimal:
        """pUSD this trade moved for ``order_hash``: per maker fill at its price, floored to the
        pUSD unit as the exchange's integer arithmetic does."""
        wanted = order_hash.lower()
        if self.taker_order_id.lower() == wanted:
            fills = self.maker_orders or (MakerFill(order_id="", matched_amount=self.size, price=self.price),)
        else:
            fills = tuple(m for m in self.maker_orders if m.order_id.lower() == wanted)
        return sum(((m.matched_amount * m.price).quantize(USDC_UNIT, rounding=ROUND_FLOOR) for m in fills), Decimal(0))

    def taker_fee_for_order(self, order_hash: str, *, fees: FeeSchedule) -> Decimal:
        """pUSD fee this trade charged ``order_hash``: only a taker pays, per maker fill at its
        price, on the market's V2 fee curve (the trade's legacy ``fee_rate_bps``
        is not the V2 rate)."""
        if self.taker_order_id.lower() != order_hash.lower():
            return Decimal(0)
        fills = self.maker_orders or (MakerFill(order_id="", matched_amount=self.size, price=self.price),)
        return sum((fees.taker_fee(shares=m.matched_amount, price=m.price) for m in fills), Decimal(0))

    def size_for_order(self, order_hash: str) -> Decimal:
        """Shares this trade filled for ``order_hash``, as taker or as one of the makers."""
        wanted = order_hash.lower()
        if self.taker_order_id.lower() == wanted:
            return self.size
        return sum((m.matched_amount for m in self.maker_orders if m.order_id.lower() == wanted), Decimal(0))


@dataclass(frozen=True, kw_only=True)
class TradesPage:
    trades: tuple[VenueTrade, ...]
    next_cursor: str | None


def parse_trades_page(body: object) -> TradesPage:
    """A ``/data/trades`` page. Raises UnexpectedAnswer on any malformed row: dropping one row
    silently could hide a fill."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise UnexpectedAnswer("trades answer is not {data: [...]}")
    trades = tuple(parse_trade(row) for row in body["data"])
    cursor = body.get("next_cursor")
    next_cursor = cursor if isinstance(cursor, str) and cursor and cursor != END_CURSOR else None
    return TradesPage(trades=trades, next_cursor=next_cursor)


def parse_trade(row: object) -> VenueTrade:
    if not isinstance(row, dict):
        raise UnexpectedAnswer("trade row is not an object")
    trade_id, status = row.get("id"), row.get("status")
    if not isinstance(trade_id, str) or not trade_id or not isinstance(status, str):
        raise UnexpectedAnswer("trade row lacks id or status")
    normalized = normalize_status(status, prefix="TRADE_STATUS_")
    if normalized not in TRADE_STATUSES:
        raise UnexpectedAnswer(f"trade {trade_id} has unknown status {status!r}")
    makers = row.get("maker_orders") or []
    if not isinstance(makers, list):
        raise UnexpectedAnswer(f"trade {trade_id}: maker_orders is not a list")
    return VenueTrade(
        trade_id=trade_id,
        status=normalized,
        taker_order_id=str(row.get("taker_order_id") or ""),
        side=str(row.get("side", "")),
        size=_decimal(row.get("size"), "size"),
        price=_decimal(row.get("price"), "price"),
        asset_id=str(row.get("asset_id", "")),
        market=str(row.get("market", "")),
        trader_side=str(row.get("trader_side", "")),
        maker_address=str(row.get("maker_address", "")),
        transaction_hash=str(row.get("transaction_hash") or ""),
        match_time=str(row.get("match_time", "")),
        fee_rate_bps=_optional_decimal(row.get("fee_rate_bps"), "fee_rate_bps"),
        maker_orders=tuple(_maker_fill(m, trade_id) for m in makers),
    )


def normalize_status(raw: str, *, prefix: str) -> str:
    status = raw.strip().upper()
    return status[len(prefix) :] if status.startswith(prefix) else status


def _maker_fill(row: object, trade_id: str) -> MakerFill:
    if not isinstance(row, dict) or not isinstance(row.get("order_id"), str):
        raise UnexpectedAnswer(f"trade {trade_id}: malformed maker order")
    return MakerFill(
        order_id=row["order_id"],
        matched_amount=_decimal(row.get("matched_amount"), "matched_amount"),
        price=_decimal(row.get("price"), "price"),
        maker_address=str(row.get("maker_address", "")),
        side=str(row.get("side", "")),
    )


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise UnexpectedAnswer(f"{name} is not a decimal string: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise UnexpectedAnswer(f"{name} is not a decimal string: {value!r}") from None
    if not number.is_finite():
        raise UnexpectedAnswer(f"{name} is not finite")
    if number < 0:
        raise UnexpectedAnswer(f"{name} is negative")
    return number


def _optional_decimal(value: object, name: str) -> Decimal | None:
    return None if value is None or value == "" else _decimal(value, name)


def _strings(value: object, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UnexpectedAnswer(f"{name} is not a list of strings")
    return tuple(value)


def _text(body: object) -> str:
    return (body.text if isinstance(body, RawBody) else str(body))[:300]


@dataclass(frozen=True, kw_only=True)
class BalanceAllowance:
    """``/balance-allowance`` in base units (6 decimals) and as Decimal (pUSD or shares)."""

    balance_units: int
    allowances_units: dict[str, int]

    @property
    def balance(self) -> Decimal:
        return Decimal(self.balance_units) / _BASE_UNITS

    @property
    def allowances(self) -> dict[str, Decimal]:
        return {spender: Decimal(units) / _BASE_UNITS for spender, units in self.allowances_units.items()}


def parse_balance_allowance(body: object) -> BalanceAllowance:
    """V2 shape ``{balance, allowances: {spender: amount}}``; V1's single ``allowance`` is kept under "*"."""
    if not isinstance(body, dict):
        raise UnexpectedAnswer("balance-allowance answer is not an object")
    allowances = body.get("allowances")
    if allowances is None and "allowance" in body:
        allowances = {"*": body["allowance"]}
    if not isinstance(allowances, dict):
        raise UnexpectedAnswer("balance-allowance answer has no allowances")
    return BalanceAllowance(
        balance_units=_units(body.get("balance"), "balance"),
        allowances_units={
            str(spender): _units(value, f"allowances[{spender}]") for spender, value in allowances.items()
        },
    )


def _units(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise UnexpectedAnswer(f"{name} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise UnexpectedAnswer(f"{name} is not a base-units integer: {value!r}")
