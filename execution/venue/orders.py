"""What to sign: an order request (Decimal in) and the market facts it is signed against."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

FEE_UNIT = Decimal("0.00001")
PUSD_UNIT = Decimal("0.000001")
Side = Literal["BUY", "SELL"]
OrderType = Literal["GTC", "GTD", "FAK", "FOK"]
RESTING_TYPES: frozenset[str] = frozenset({"GTC", "GTD"})
MARKETABLE_TYPES: frozenset[str] = frozenset({"FAK", "FOK"})


@dataclass(frozen=True, kw_only=True)
class FeeSchedule:
    """Taker fee curve of a market: fee = shares * rate * (p * (1 - p)) ** exponent (reference §4.8)."""

    rate: Decimal = Decimal(0)
    exponent: Decimal = Decimal(1)
    taker_only: bool = True

    def taker_fee(self, *, shares: Decimal, price: Decimal) -> Decimal:
        """pUSD charged to the taker for ``shares`` matched at ``price``, floored to 5 decimals as
        the chain shows it (reference §4.8)."""
        if self.rate == 0 or shares == 0:
            return Decimal(0)
        fee = shares * self.rate * (price * (1 - price)) ** self.exponent
        return fee.quantize(FEE_UNIT, rounding=ROUND_FLOOR)

    def worst_buy_fee(self, *, usdc: Decimal, max_price: Decimal, tick: Decimal) -> Decimal:
        """The most taker fee a marketable BUY spending at most ``usdc`` pUSD can pay, whatever
        prices it fills at within [tick, max_price]; rounded up to the pUSD unit.

        pUSD u spent at p buys u/p shares, so its fee is u * rate * p**(e-1) * (1-p)**e: the
        bound is ``usdc`` times the largest value of that curve over the prices the order can
        fill at (an end of the range, or the curve's peak (e-1)/(2e-1) when it lies inside).
        For the usual exponent 1 that is the lowest price: a fill at a better price costs a
        larger fee (more shares for the same pUSD).
        """
        if self.rate == 0 or usdc <= 0:
            return Decimal(0)
        low, high = tick, max(tick, max_price)
        candidates = [low, high]
        if self.exponent > 1:
            peak = (self.exponent - 1) / (2 * self.exponent - 1)
            if low < peak < high:
                candidates.append(peak)
        per_usdc = max(p ** (self.exponent - 1) * (1 - p) ** self.exponent for p in candidates)
        return (usdc * self.rate * per_usdc).quantize(PUSD_UNIT, rounding=ROUND_CEILING)


@dataclass(frozen=True, kw_only=True)
class MarketInfo:
    """The market facts an order is built against, from ``/clob-markets`` (cached, see quotes.py).

    ``accepting_orders`` is None when the venue's answer did not say (``/clob-markets`` has no
    such field); a market that is not accepting orders then refuses the order itself
    ("the market is not yet ready to process new orders").
    """

    condition_id: str
    tick_size: Decimal
    neg_risk: bool
    min_order_size: Decimal
    token_ids: frozenset[str] = field(default_factory=frozenset)
    accepting_orders: bool | None = None
    fees: FeeSchedule = field(default_factory=FeeSchedule)


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    """One order to sign. Build it with ``limit``, ``market_buy`` or ``market_sell``.

    ``price`` is the limit price of a resting order, or the worst acceptable price of a protected
    marketable order (max for a BUY, min for a SELL). ``size`` is in shares (limit orders, market
    SELL); ``amount`` is pUSD to spend (market BUY). ``expiration`` is unix seconds (GTD only).
    """

    token_id: str
    side: Side
    order_type: OrderType
    price: Decimal
    size: Decimal | None = None
    amount: Decimal | None = None
    expiration: int = 0
    post_only: bool = False

    @classmethod
    def limit(
        cls,
        *,
        token_id: str,
        side: Side,
        price: Decimal,
        size: Decimal,
        expiration: int | None = None,
        post_only: bool = False,
    ) -> OrderRequest:
        """A resting order: GTC, or GTD when ``expiration`` (unix seconds) is given."""
        return cls(
            token_id=token_id,
            side=side,
            order_type="GTC" if expiration is None else "GTD",
            price=price,
            size=size,
            expiration=expiration or 0,
            post_only=post_only,
        )

    @classmethod
    def market_buy(
        cls, *, token_id: str, amount: Decimal, max_price: Decimal, order_type: Literal["FAK", "FOK"] = "FAK"
    ) -> OrderRequest:
        """Spend up to ``amount`` pUSD at prices no worse than ``max_price`` (FAK partial, FOK all)."""
        return cls(token_id=token_id, side="BUY", order_type=order_type, price=max_price, amount=amount)

    @classmethod
    def market_sell(
        cls, *, token_id: str, shares: Decimal, min_price: Decimal, order_type: Literal["FAK", "FOK"] = "FAK"
    ) -> OrderRequest:
        """Sell up to ``shares`` at prices no worse than ``min_price`` (FAK partial, FOK all)."""
        return cls(token_id=token_id, side="SELL", order_type=order_type, price=min_price, size=shares)

    @property
    def is_marketable(self) -> bool:
        return self.order_type in MARKETABLE_TYPES

    @property
    def quantity(self) -> Decimal | None:
        """The amount the SDK rounds: pUSD for a market BUY, shares otherwise."""
        return self.amount if self.is_marketable and self.side == "BUY" else self.size
