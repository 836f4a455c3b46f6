"""Polymarket's answers, word for word (reference polymarket.md §2.5 and docs error-codes, 2026-06).

Where the real text is not published the simulator says so in docs/simulator.md rather than
inventing a plausible-looking one silently.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

UNAUTHORIZED: Final = "Unauthorized/Invalid api key"
INVALID_L1_HEADERS: Final = "Invalid L1 Request headers"
TRADING_DISABLED: Final = "Trading is currently disabled. Check polymarket.com for updates"
CANCEL_ONLY: Final = "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed."
POST_ONLY_MODE: Final = "post-only mode: only post-only orders and cancels are allowed"
TOO_MANY_REQUESTS: Final = "Too Many Requests"
# 425 has no published text (reference §12); this is the simulator's wording.
ENGINE_RESTARTING: Final = "the matching engine is restarting, retry later"
INTERNAL_ERROR: Final = "Internal server error"

COULD_NOT_CREATE_API_KEY: Final = "Could not create api key"
COULD_NOT_DERIVE_API_KEY: Final = "Could not derive api key!"

INVALID_ORDER_PAYLOAD: Final = "Invalid order payload"
ORDER_OWNER_MISMATCH: Final = "the order owner has to be the owner of the API KEY"
ORDER_SIGNER_MISMATCH: Final = "the order signer address has to be the address of the API KEY"
INVALID_SIGNATURE: Final = "invalid signature"
ORDER_VERSION_MISMATCH: Final = "order_version_mismatch"
NOT_ENOUGH_BALANCE: Final = "not enough balance / allowance"
DUPLICATED: Final = "order is invalid. Duplicated. Same order has already been placed, can't be placed again"
FOK_NOT_FILLED: Final = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_NOT_FILLED: Final = (
    "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
)
POST_ONLY_CROSSES: Final = "invalid post-only order: order crosses book"
MARKET_NOT_READY: Final = "the market is not yet ready to process new orders"
INVALID_EXPIRATION: Final = "invalid expiration"

INVALID_TOKEN_ID: Final = "Invalid token id"  # noqa: S105 - an error message, not a secret
NO_ORDERBOOK: Final = "No orderbook exists for the requested token id"
MARKET_NOT_FOUND: Final = "market not found"
INVALID_MARKET: Final = "Invalid market"
INVALID_ORDER_ID: Final = "Invalid orderID"
ORDER_NOT_CANCELABLE: Final = "order can't be found - already canceled or matched"
INVALID_ORDER_PARAMS: Final = "invalid order params payload"
INVALID_TRADE_PARAMS: Final = "Invalid trade params payload"


# The real venue's 404/405 bodies are not published; these are the simulator's words, as JSON.
NOT_FOUND: Final = "Not Found"
METHOD_NOT_ALLOWED: Final = "Method Not Allowed"
INVALID_HEARTBEAT_ID: Final = "Invalid Heartbeat ID"

MAKER_NOT_ALLOWED: Final = "maker address not allowed, please use the deposit wallet flow"

# The relayer's session-signer endpoints publish no error texts (reference §12): these are the
# simulator's, named in docs/simulator.md. An order signed by a signer whose grant is missing,
# expired, revoked or out of scope fails the wallet's ERC-1271 check: INVALID_SIGNATURE above.
RELAYER_UNAUTHORIZED: Final = "invalid authorization headers"
RELAYER_INVALID_PAYLOAD: Final = "invalid session signer request"
RELAYER_INVALID_SIGNATURE: Final = "invalid signature: not signed by the deposit wallet owner"
RELAYER_INVALID_NONCE: Final = "invalid nonce"
RELAYER_EXPIRED_DEADLINE: Final = "deadline expired"
SESSION_SIGNER_NOT_FOUND: Final = "session signer not found"
TRANSACTION_NOT_FOUND: Final = "transaction not found"
NO_DEPOSIT_WALLET: Final = "no deposit wallet for this api key"


def address_banned(address: str) -> str:
    return f"'{address}' address banned"


def address_closed_only(address: str) -> str:
    return f"'{address}' address in closed only mode"


def text(value: Decimal) -> str:
    """Render a decimal the way the venue prints it in messages: no exponent, no trailing zeros."""
    normalized = value.normalize()
    rendered = format(normalized, "f")
    return rendered


def too_many_orders(count: int, maximum: int) -> str:
    return f"Too many orders in payload: {count}, max allowed: {maximum}"


def size_below_minimum(order_id: str, size: Decimal, minimum: Decimal) -> str:
    return f"order {order_id} is invalid. Size ({text(size)}) lower than the minimum: {text(minimum)}"


def breaks_tick(order_id: str, price: Decimal, tick: Decimal) -> str:
    return f"order {order_id} is invalid. Price ({text(price)}) breaks minimum tick size rule: {text(tick)}"


def amount_accuracy(*, market: bool, side: str, maker_decimals: int, taker_decimals: int) -> str:
    kind = f"{'market ' if market else ''}{side.lower()} orders"
    return (
        f"invalid amounts, the {kind} maker amount supports a max accuracy of {maker_decimals} decimals, "
        f"taker amount a max of {taker_decimals} decimals"
    )


def amount_inconsistent(*, which: str, price: Decimal, size: Decimal, expected: Decimal, submitted: Decimal) -> str:
    return (
        f"invalid amounts, the {which} amount for a ${text(price)} order of size {text(size)} should be "
        f"'{text(expected)}' but the value submited is '{text(submitted)}'. Please check if you are using "
        "the latest version of the 'clob-client' library"
    )


def marketable_buy_too_small(amount: Decimal, minimum: Decimal) -> str:
    return f"invalid amount for a marketable BUY order (${text(amount)}), min size: {text(minimum)}"


def balance_too_low(balance_base_units: int, order_amount_base_units: int) -> str:
    """Both in base units, as the venue prints them (what the wallet has, what the order needs)."""
    return (
        f"{NOT_ENOUGH_BALANCE}: the balance is not enough -> balance: {balance_base_units}, "
        f"order amount: {order_amount_base_units}"
    )


class VenueError(Exception):
    """A refusal the venue answers with `{"error": message}` and an HTTP status."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        *,
        extra: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra or {}
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.status} {self.message}"
