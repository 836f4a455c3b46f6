"""Paper fills: what a protected FAK/FOK order would get against a book, with the taker fee.

Pure function, no keys and no POST; the "paper" custody mode uses it with a cached book.
It walks the opposite side best level first and stops at the order's worst price:
a BUY spends at most ``amount`` pUSD on asks priced <= ``max_price``; a SELL sells at most
``shares`` into bids priced >= ``min_price``. FOK fills all or nothing; FAK fills what it can.
Fees follow the venue's curve: per level ``shares * rate * (p * (1 - p)) ** exponent``, floored
to 5 decimals; a BUY pays it on top of the notional, a SELL receives the notional minus it.
Shares and pUSD are floored to 6 decimals (the venue's base units).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from execution.venue.markets import BookLevel, OrderBook
from execution.venue.orders import FeeSchedule

_UNIT = Decimal("0.000001")
ZERO = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class PaperFill:
    """``shares`` traded, ``notional`` pUSD exchanged before fees, ``fee`` pUSD, ``avg_price``.

    ``killed`` is True when nothing traded (FAK with no match, or a FOK that could not fill).
    """

    side: Literal["BUY", "SELL"]
    shares: Decimal
    notional: Decimal
    fee: Decimal
    avg_price: Decimal | None
    killed: bool
    levels: tuple[BookLevel, ...] = ()

    @property
    def cash_delta(self) -> Decimal:
        """Change of the account's pUSD: negative for a BUY (notional + fee), positive for a SELL."""
        return -(self.notional + self.fee) if self.side == "BUY" else self.notional - self.fee


def simulate_fill(
    *,
    book: OrderBook,
    side: Literal["BUY", "SELL"],
    limit_price: Decimal,
    order_type: Literal["FAK", "FOK"],
    fees: FeeSchedule,
    amount: Decimal | None = None,
    shares: Decimal | None = None,
) -> PaperFill:
    """Fill a protected market order: BUY with ``amount`` (pUSD), SELL with ``shares``."""
    if side == "BUY":
        if amount is None or amount <= 0:
            raise ValueError("a paper BUY needs a positive pUSD amount")
        taken, complete = _walk_buy(book.asks, amount=amount, max_price=limit_price)
    else:
        if shares is None or shares <= 0:
            raise ValueError("a paper SELL needs a positive number of shares")
        taken, complete = _walk_sell(book.bids, shares=shares, min_price=limit_price)
    if not taken or (order_type == "FOK" and not complete):
        return PaperFill(side=side, shares=ZERO, notional=ZERO, fee=ZERO, avg_price=None, killed=True)
    traded = sum((level.size for level in taken), ZERO)
    notional = _floor(sum((level.price * level.size for level in taken), ZERO), _UNIT)
    fee = sum((fees.taker_fee(shares=level.size, price=level.price) for level in taken), ZERO)
    return PaperFill(
        side=side,
        shares=traded,
        notional=notional,
        fee=fee,
        avg_price=notional / traded,
        killed=False,
        levels=tuple(taken),
    )


def _walk_buy(asks: tuple[BookLevel, ...], *, amount: Decimal, max_price: Decimal) -> tuple[list[BookLevel], bool]:
    # Shares are floored to base units, so "all spent" means less than one base unit of pUSD left.
    remaining, taken = amount, []
    for level in asks:
        if remaining < _UNIT or level.price > max_price:
            break
        size = min(level.size, _floor(remaining / level.price, _UNIT))
        if size > 0:
            taken.append(BookLevel(price=level.price, size=size))
            remaining -= size * level.price
    return taken, remaining < _UNIT


def _walk_sell(bids: tuple[BookLevel, ...], *, shares: Decimal, min_price: Decimal) -> tuple[list[BookLevel], bool]:
    remaining, taken = shares, []
    for level in bids:
        if remaining <= 0 or level.price < min_price:
            break
        size = min(level.size, remaining)
        taken.append(BookLevel(price=level.price, size=size))
        remaining -= size
    return taken, remaining <= 0


def _floor(value: Decimal, unit: Decimal) -> Decimal:
    return value.quantize(unit, rounding=ROUND_FLOOR)
