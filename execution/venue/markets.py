"""Parsing market data answers: ``/book``, ``/clob-markets/{cid}``, ``/markets-by-token/{token}``.

Numbers arrive as decimal strings (book) or JSON numbers (``/clob-markets`` ``mts``/``mos``);
the transport parses JSON numbers as Decimal, so nothing here ever holds a float.
Books are normalised to best-first order (bids descending, asks ascending) whatever order the
venue used (the real CLOB sends bids ascending and asks descending: best = last).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from execution.venue.amounts import ROUNDING
from execution.venue.errors import UnexpectedAnswer
from execution.venue.orders import FeeSchedule, MarketInfo


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    size: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderBook:
    """One token's book, best level first on both sides."""

    token_id: str
    market: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    tick_size: Decimal | None = None
    min_order_size: Decimal | None = None
    neg_risk: bool | None = None
    timestamp: str = ""
    book_hash: str = ""
    last_trade_price: Decimal | None = None

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def midpoint(self) -> Decimal | None:
        if self.best_bid is None or self.best_ask is None:
            return None
        return (self.best_bid + self.best_ask) / 2


def parse_book(body: object, *, token_id: str) -> OrderBook:
    if not isinstance(body, dict):
        raise UnexpectedAnswer("book answer is not an object")
    asset = body.get("asset_id")
    if asset is not None and str(asset) != token_id:
        raise UnexpectedAnswer(f"asked for the book of {token_id}, got {asset}")
    bids = sorted(_levels(body.get("bids"), "bids"), key=lambda level: level.price, reverse=True)
    asks = sorted(_levels(body.get("asks"), "asks"), key=lambda level: level.price)
    neg_risk = body.get("neg_risk")
    return OrderBook(
        token_id=token_id,
        market=str(body.get("market", "")),
        bids=tuple(bids),
        asks=tuple(asks),
        tick_size=_optional(body.get("tick_size"), "tick_size"),
        min_order_size=_optional(body.get("min_order_size"), "min_order_size"),
        neg_risk=neg_risk if isinstance(neg_risk, bool) else None,
        timestamp=str(body.get("timestamp", "")),
        book_hash=str(body.get("hash", "")),
        last_trade_price=_optional(body.get("last_trade_price"), "last_trade_price"),
    )


@dataclass(frozen=True, kw_only=True)
class MarketTitle:
    """What people call a market and its outcomes, from the long CLOB market object
    (``/markets/{condition_id}``: ``question``, ``market_slug``, ``tokens[{token_id, outcome}]``)."""

    condition_id: str
    question: str
    slug: str
    outcomes: dict[str, str]
    tick_size: Decimal | None = None

    def outcome_of(self, token_id: str) -> str:
        return self.outcomes.get(token_id, "")


def parse_market_title(body: object, *, condition_id: str) -> MarketTitle:
    if not isinstance(body, dict):
        raise UnexpectedAnswer("markets answer is not an object")
    tokens = body.get("tokens")
    outcomes: dict[str, str] = {}
    for item in tokens if isinstance(tokens, list) else []:
        token, outcome = (item.get("token_id"), item.get("outcome")) if isinstance(item, Mapping) else (None, None)
        if isinstance(token, str) and token.isdigit():
            outcomes[token] = str(outcome or "")
    question, slug = body.get("question"), body.get("market_slug")
    tick = _optional(body.get("minimum_tick_size"), "minimum_tick_size")
    return MarketTitle(
        condition_id=condition_id,
        question=question.strip()[:300] if isinstance(question, str) else "",
        slug=slug[:200] if isinstance(slug, str) else "",
        outcomes=outcomes,
        tick_size=tick if tick in ROUNDING else None,
    )


def parse_condition_id(body: object) -> tuple[str, bool | None]:
    """(condition id, accepting_orders if the answer says) from ``/markets-by-token/{token}``."""
    if not isinstance(body, dict):
        raise UnexpectedAnswer("markets-by-token answer is not an object")
    condition = body.get("condition_id")
    if not isinstance(condition, str) or not condition.startswith("0x") or len(condition) != 66:
        raise UnexpectedAnswer(f"markets-by-token answer has no valid condition_id: {condition!r}")
    accepting = body.get("accepting_orders")
    return condition.lower(), accepting if isinstance(accepting, bool) else None


def parse_clob_market(
    body: object, *, condition_id: str, accepting_orders: bool | None = None, fallback_min_size: Decimal | None = None
) -> MarketInfo:
    """``/clob-markets/{cid}``: ``mts`` tick, ``mos`` min size, ``nr`` neg-risk (absent = false),
    ``fd`` fee curve, ``t`` tokens. ``fallback_min_size`` (from the book) when ``mos`` is absent."""
    if not isinstance(body, dict):
        raise UnexpectedAnswer("clob-markets answer is not an object")
    tick = _required(body.get("mts"), "mts")
    if tick not in ROUNDING:
        raise UnexpectedAnswer(f"unsupported tick size {tick}")
    min_size = _optional(body.get("mos"), "mos")
    if min_size is None:
        min_size = fallback_min_size
    if min_size is None:
        raise UnexpectedAnswer("clob-markets answer has no minimum order size (mos)")
    neg_risk = body.get("nr", False)
    if not isinstance(neg_risk, bool):
        raise UnexpectedAnswer(f"clob-markets nr is not a bool: {neg_risk!r}")
    if isinstance(body.get("accepting_orders"), bool):
        accepting_orders = body["accepting_orders"]
    return MarketInfo(
        condition_id=condition_id,
        tick_size=tick,
        neg_risk=neg_risk,
        min_order_size=min_size,
        token_ids=_tokens(body.get("t")),
        accepting_orders=accepting_orders,
        fees=_fees(body.get("fd")),
    )


def _fees(raw: object) -> FeeSchedule:
    if raw is None:
        return FeeSchedule()
    if not isinstance(raw, Mapping):
        raise UnexpectedAnswer("clob-markets fd is not an object")
    taker_only = raw.get("to", True)
    return FeeSchedule(
        rate=_optional(raw.get("r"), "fd.r") or Decimal(0),
        exponent=_optional(raw.get("e"), "fd.e") or Decimal(1),
        taker_only=taker_only if isinstance(taker_only, bool) else True,
    )


def _tokens(raw: object) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise UnexpectedAnswer("clob-markets t is not a list")
    tokens = set()
    for item in raw:
        token = item.get("t") if isinstance(item, Mapping) else None
        if not isinstance(token, str) or not token.isdigit():
            raise UnexpectedAnswer(f"clob-markets token entry is malformed: {item!r}")
        tokens.add(token)
    return frozenset(tokens)


def _levels(raw: object, name: str) -> list[BookLevel]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise UnexpectedAnswer(f"book {name} is not a list")
    levels = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise UnexpectedAnswer(f"book {name} level is not an object")
        levels.append(BookLevel(price=_required(item.get("price"), "price"), size=_required(item.get("size"), "size")))
    return levels


def _required(value: object, name: str) -> Decimal:
    number = _optional(value, name)
    if number is None:
        raise UnexpectedAnswer(f"{name} is missing")
    return number


def _optional(value: object, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise UnexpectedAnswer(f"{name} is not a decimal: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise UnexpectedAnswer(f"{name} is not a decimal: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise UnexpectedAnswer(f"{name} is not a finite non-negative decimal: {value!r}")
    return number
