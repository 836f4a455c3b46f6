"""The venue's records: markets, orders, trades, Data API rows, API keys and faults.

Amounts are integers in 6-decimal base units; prices are integers in 1e-4 units (every supported
tick is a multiple of 0.0001). Decimal appears only at the edges (scenario input, JSON output).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from .constants import BASE_UNITS, PRICE_UNITS

Side = Literal["BUY", "SELL"]
OrderType = Literal["GTC", "GTD", "FOK", "FAK"]
OrderStatus = Literal["LIVE", "DELAYED", "MATCHED", "CANCELED", "UNMATCHED"]
TradeStatus = Literal["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"]
TradingMode = Literal["normal", "cancel_only", "disabled", "post_only"]


def price_decimal(price_e4: int) -> Decimal:
    return (Decimal(price_e4) / PRICE_UNITS).normalize()


def units_decimal(base_units: int) -> Decimal:
    return Decimal(base_units) / BASE_UNITS


def to_price_e4(value: Decimal) -> int:
    scaled = value * PRICE_UNITS
    if scaled != scaled.to_integral_value():
        raise ValueError(f"price {value} is finer than 0.0001")
    return int(scaled)


def to_base_units(value: Decimal) -> int:
    scaled = value * BASE_UNITS
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {value} is finer than 0.000001")
    return int(scaled)


@dataclass(frozen=True, slots=True)
class Outcome:
    token_id: str
    outcome: str


@dataclass(slots=True)
class Market:
    """One binary market: a condition and its outcome tokens with their trading rules."""

    condition_id: str
    tokens: tuple[Outcome, ...]
    tick_size: Decimal = Decimal("0.01")
    neg_risk: bool = False
    min_order_size: Decimal = Decimal(5)
    fee_rate: Decimal = Decimal(0)
    fee_exponent: int = 1
    accepting_orders: bool = True
    # Marketable orders are held this long and answered `delayed` ("itode" in /clob-markets).
    taker_delay_ms: int = 0
    title: str = ""
    slug: str = ""
    event_slug: str = ""
    icon: str = ""

    def outcome_of(self, token_id: str) -> tuple[str, int]:
        for index, token in enumerate(self.tokens):
            if token.token_id == token_id:
                return token.outcome, index
        raise KeyError(token_id)


@dataclass(slots=True, eq=False)
class Order:
    order_id: str
    owner: str
    maker: str
    signer: str
    condition_id: str
    token_id: str
    side: Side
    price_e4: int
    maker_amount: int
    taker_amount: int
    original_size: int
    order_type: OrderType
    expiration: int
    created_at: int
    sequence: int
    status: OrderStatus = "LIVE"
    size_matched: int = 0
    associate_trades: list[str] = field(default_factory=list)
    house: bool = False
    replenish: bool = False
    post_only: bool = False
    execute_at: float = 0.0
    # What this open order currently holds back from its maker (base units; see Engine._retain).
    held: int = 0

    @property
    def remaining(self) -> int:
        return self.original_size - self.size_matched

    @property
    def is_open(self) -> bool:
        return self.status in ("LIVE", "DELAYED")

    def limit_admits(self, price_e4: int) -> bool:
        """Whether a fill at `price_e4` respects the order's signed ratio (exact, no rounding)."""
        if self.side == "BUY":
            return price_e4 * self.taker_amount <= self.maker_amount * PRICE_UNITS
        return price_e4 * self.maker_amount >= self.taker_amount * PRICE_UNITS


@dataclass(slots=True, eq=False)
class Trade:
    """One match of a taker order against one maker order (the simulator emits one trade per maker)."""

    trade_id: str
    taker_order_id: str
    condition_id: str
    token_id: str
    outcome: str
    side: Side
    size: int
    price_e4: int
    usdc: int
    fee: int
    fee_rate_bps: Decimal
    taker_owner: str
    taker_address: str
    maker_order_id: str
    maker_owner: str
    maker_address: str
    maker_side: Side
    match_time: int
    last_update: int
    sequence: int
    status: TradeStatus = "MATCHED"
    transaction_hash: str = ""
    fail: bool = False
    due_at: float | None = None
    confirm_due_at: float | None = None


@dataclass(slots=True, eq=False)
class ActivityRow:
    """A trade as the Data API shows it for one wallet (a leader trade or one side of a fill)."""

    wallet: str
    token_id: str
    condition_id: str
    side: Side
    size: Decimal
    price: Decimal
    timestamp: int
    transaction_hash: str
    taker: bool
    sequence: int
    trade: Trade | None = None
    title: str = ""
    slug: str = ""
    event_slug: str = ""
    icon: str = ""
    outcome: str = ""
    outcome_index: int = 0
    name: str = ""
    pseudonym: str = ""

    @property
    def visible(self) -> bool:
        # Fills reach the Data API once settled on chain, like the real indexer.
        if self.trade is None:
            return True
        return self.trade.transaction_hash != "" and self.trade.status != "FAILED"

    @property
    def tx_hash(self) -> str:
        return self.trade.transaction_hash if self.trade is not None else self.transaction_hash

    @property
    def usdc_size(self) -> Decimal:
        return self.size * self.price


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    key: str
    secret: str
    passphrase: str
    address: str
    nonce: int


@dataclass(slots=True)
class Fault:
    """An injected fault: what happens to matching requests, for how many and how often.

    `kind` is one of: delay, delay_after, drop, error_before, error_after, rate_limit, too_early,
    cancel_only, trading_disabled, post_only, trade_failure. `endpoint` is "METHOD /path" (the
    path may be a route template such as /data/order/{order_id}), "METHOD *", "/path" or "*".
    `count` None means until cleared.
    """

    kind: str
    endpoint: str = "*"
    count: int | None = 1
    probability: float = 1.0
    delay_ms: int = 0
    status: int | None = None
    retry_after_s: int = 1
    fault_id: int = 0
    hits: int = 0
