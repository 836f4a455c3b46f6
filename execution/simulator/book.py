"""One token's order book: price levels with FIFO queues (price-time priority)."""

from __future__ import annotations

import bisect
import hashlib
import json
from collections import deque
from collections.abc import Iterator

from .errors import text
from .models import Order, Side, price_decimal, units_decimal


class Book:
    def __init__(self, token_id: str) -> None:
        self.token_id = token_id
        # Price levels in 1e-4 units, ascending; queues in arrival order.
        self._prices: dict[Side, list[int]] = {"BUY": [], "SELL": []}
        self._levels: dict[Side, dict[int, deque[Order]]] = {"BUY": {}, "SELL": {}}
        self.last_trade_price_e4: int | None = None

    def add(self, order: Order) -> None:
        levels = self._levels[order.side]
        queue = levels.get(order.price_e4)
        if queue is None:
            queue = levels[order.price_e4] = deque()
            bisect.insort(self._prices[order.side], order.price_e4)
        queue.append(order)

    def remove(self, order: Order) -> None:
        levels = self._levels[order.side]
        queue = levels.get(order.price_e4)
        if queue is None:
            return
        try:
            queue.remove(order)
        except ValueError:
            return
        if not queue:
            self._drop_level(order.side, order.price_e4)

    def _drop_level(self, side: Side, price_e4: int) -> None:
        del self._levels[side][price_e4]
        prices = self._prices[side]
        del prices[bisect.bisect_left(prices, price_e4)]

    def prune(self) -> None:
        """Forget orders that are no longer open (filled, cancelled, expired) and empty levels."""
        for side in ("BUY", "SELL"):
            levels = self._levels[side]
            for price in list(levels):
                queue = levels[price]
                kept = deque(o for o in queue if o.is_open and o.remaining > 0)
                if kept:
                    levels[price] = kept
                else:
                    self._drop_level(side, price)

    def opposite(self, taker_side: Side) -> Iterator[Order]:
        """Resting orders a taker of `taker_side` would meet, best price first, oldest first."""
        side: Side = "SELL" if taker_side == "BUY" else "BUY"
        prices = self._prices[side]
        ordered = prices if side == "SELL" else reversed(prices)
        levels = self._levels[side]
        for price in list(ordered):
            queue = levels.get(price)
            if queue is None:
                continue
            yield from list(queue)

    def best(self, side: Side) -> int | None:
        prices = self._prices[side]
        if not prices:
            return None
        return prices[-1] if side == "BUY" else prices[0]

    def orders(self) -> Iterator[Order]:
        for side in ("BUY", "SELL"):
            for queue in self._levels[side].values():
                yield from queue

    def clear(self) -> None:
        for side in ("BUY", "SELL"):
            self._prices[side].clear()
            self._levels[side].clear()

    def levels(self, side: Side) -> list[tuple[int, int]]:
        """(price_e4, total shares) per level in the venue's display order: bids up, asks down."""
        prices = self._prices[side]
        ordered = prices if side == "BUY" else list(reversed(prices))
        out = []
        for price in ordered:
            size = sum(o.remaining for o in self._levels[side][price] if o.is_open)
            if size > 0:
                out.append((price, size))
        return out


def summary(
    book: Book, *, condition_id: str, timestamp_ms: int, min_order_size: str, tick_size: str, neg_risk: bool
) -> dict[str, object]:
    """The GET /book body, hash included (SHA-1 of the compact JSON with an empty hash, as py-clob-client)."""
    body: dict[str, object] = {
        "market": condition_id,
        "asset_id": book.token_id,
        "timestamp": str(timestamp_ms),
        "hash": "",
        "bids": [{"price": text(price_decimal(p)), "size": text(units_decimal(s))} for p, s in book.levels("BUY")],
        "asks": [{"price": text(price_decimal(p)), "size": text(units_decimal(s))} for p, s in book.levels("SELL")],
        "min_order_size": min_order_size,
        "tick_size": tick_size,
        "neg_risk": neg_risk,
        "last_trade_price": "" if book.last_trade_price_e4 is None else text(price_decimal(book.last_trade_price_e4)),
    }
    body["hash"] = hashlib.sha1(json.dumps(body, separators=(",", ":")).encode(), usedforsecurity=False).hexdigest()
    return body
