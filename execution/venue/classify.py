"""The one classifier of answers to ``POST /order``: placed, rejected, unknown or retry_later.

Every code path that reads the venue's answer to an order POST goes through
``classify_post_response``. The rule of thumb is that only an explicit, well-formed answer can
say "placed" or "rejected"; everything ambiguous is "unknown" and is resolved by looking the
order up by its hash (docs/pipeline.md, reconcile):

- placed: 2xx and PMC's accept rule -- ``success`` is true, ``errorMsg`` is "", ``orderID`` is set
  and ``status`` is live / matched / delayed (and the amounts parse).
- rejected: a definite refusal -- a 4xx with a readable error string, a 2xx with ``success:false``
  and an error message, or a FOK/FAK kill (including ``status: unmatched``; reason ``killed``).
- retry_later: definitely not placed, safe to send the same bytes later -- 429, 425, the 503
  "cancel-only" / "trading disabled" answers, post-only mode, and a request that never left
  (``not_sent``).
- unknown: a transport error (``http_status=None``), 5xx, an empty or unreadable body, a
  non-string error, a duplicate (``INVALID_ORDER_DUPLICATED``: it *was* placed before -- go and
  reconcile, never a failure) and any 2xx that does not have the documented shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

Kind = Literal["placed", "rejected", "unknown", "retry_later"]
ACCEPTED_STATUSES = frozenset({"live", "matched", "delayed"})


@dataclass(frozen=True)
class RawBody:
    """A body that is not JSON (HTML error page, truncated text, or empty)."""

    text: str


@dataclass(frozen=True, kw_only=True)
class Classification:
    """What an order POST achieved. ``reason`` is a stable code; ``detail`` the venue's words.

    For ``placed``: ``order_id`` (the order hash), ``status`` (live/matched/delayed), the amounts
    filled at once (``making_amount``/``taking_amount``, Decimal, 0 when none) and ``trade_ids``.
    """

    kind: Kind
    reason: str
    detail: str = ""
    http_status: int | None = None
    order_id: str = ""
    status: str = ""
    making_amount: Decimal | None = None
    taking_amount: Decimal | None = None
    trade_ids: tuple[str, ...] = field(default_factory=tuple)
    transaction_hashes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_final(self) -> bool:
        """placed/rejected are definite; unknown and retry_later leave the order to be resolved."""
        return self.kind in ("placed", "rejected")

    @classmethod
    def not_sent(cls, detail: str) -> Classification:
        """The request never left (connection refused, connect/pool timeout): not placed."""
        return cls(kind="retry_later", reason="not_sent", detail=detail)


# (pattern, kind, reason), first match wins; matched case-insensitively against the error text.
# Exact strings are the venue's published error strings and its duplicate-order answer.
_RULES: tuple[tuple[str, Kind, str], ...] = (
    (r"duplicated|INVALID_ORDER_DUPLICATED", "unknown", "duplicate"),
    (r"FOK orders are fully filled or killed|FOK_ORDER_NOT_FILLED", "rejected", "killed"),
    (r"FAK orders are partially filled or killed|no orders found to match with FAK", "rejected", "killed"),
    (r"^Trading is currently cancel-only", "retry_later", "cancel_only"),
    (r"^Trading is currently disabled", "retry_later", "trading_disabled"),
    (r"^Too Many Requests", "retry_later", "rate_limited"),
    (r"matching engine is restarting", "retry_later", "engine_restarting"),
    (r"not enough balance / allowance|INVALID_ORDER_NOT_ENOUGH_BALANCE", "rejected", "not_enough_balance"),
    (r"the order signer address has to be the address of the API KEY", "rejected", "signer_not_api_key_owner"),
    (r"the order owner has to be the owner of the API KEY", "rejected", "owner_not_api_key_owner"),
    (r"maker address not allowed", "rejected", "maker_not_allowed"),
    (r"^Invalid order payload|^Too many orders in payload", "rejected", "invalid_payload"),
    (r"^invalid signature", "rejected", "invalid_signature"),
    (r"invalid post-only order: order crosses book", "rejected", "post_only_would_cross"),
    # A venue/market mode, not a verdict on the order: nothing was placed, it may pass later.
    (r"post-only mode: only post-only orders and cancels are allowed", "retry_later", "post_only_mode"),
    (r"the market is not yet ready to process new orders|MARKET_NOT_READY", "rejected", "market_not_ready"),
    (r"^invalid nonce", "rejected", "invalid_nonce"),
    (r"^invalid expiration|INVALID_ORDER_EXPIRATION", "rejected", "invalid_expiration"),
    (r"lower than the minimum|INVALID_ORDER_MIN_SIZE", "rejected", "below_min_size"),
    (r"breaks minimum tick size rule|INVALID_ORDER_MIN_TICK_SIZE", "rejected", "price_off_tick"),
    (r"^invalid amounts", "rejected", "invalid_amounts"),
    (r"order_version_mismatch", "rejected", "order_version_mismatch"),
    (r"^Unauthorized/Invalid api key", "rejected", "unauthorized"),
    (r"^Invalid L1 Request headers", "rejected", "unauthorized"),
    # Server-side failures after the order was read: it may or may not have been inserted.
    (r"EXECUTION_ERROR|could not run the execution", "unknown", "execution_error"),
    (r"INVALID_ORDER_ERROR|could not insert order", "unknown", "insert_error"),
    (r"DELAYING_ORDER_ERROR|error delaying the order", "unknown", "delay_error"),
)
_MESSAGE_RULES = tuple((re.compile(pattern, re.IGNORECASE), kind, reason) for pattern, kind, reason in _RULES)


def classify_post_response(http_status: int | None, body: object) -> Classification:
    """Classify one answer to ``POST /order``; ``http_status=None`` means no HTTP response at all.

    ``body`` is the parsed JSON value, or ``RawBody`` when the body is empty or not JSON.
    """
    if http_status is None:
        text = body.text if isinstance(body, RawBody) else str(body or "")
        return Classification(kind="unknown", reason="transport_error", detail=text[:300])
    if http_status == 429:
        return Classification(kind="retry_later", reason="rate_limited", detail=_text_of(body), http_status=429)
    if http_status == 425:
        return Classification(kind="retry_later", reason="engine_restarting", detail=_text_of(body), http_status=425)
    if 200 <= http_status < 300:
        return _classify_success(http_status, body)
    if http_status == 503:
        return _classify_unavailable(body)
    if 400 <= http_status < 500:
        return _classify_refusal(http_status, body)
    return Classification(kind="unknown", reason="server_error", detail=_text_of(body), http_status=http_status)


def _classify_success(status: int, body: object) -> Classification:
    if not isinstance(body, dict):
        return Classification(kind="unknown", reason="unreadable_body", detail=_text_of(body), http_status=status)
    success, error_msg = body.get("success"), body.get("errorMsg")
    order_status = body.get("status")
    if order_status is not None and not isinstance(order_status, str):
        # A list or an object where the status goes: not an answer we can read (S36).
        return Classification(kind="unknown", reason="malformed_answer", detail=_text_of(body), http_status=status)
    if order_status == "unmatched":
        detail = error_msg if isinstance(error_msg, str) and error_msg else "marketable order was not matched"
        return Classification(kind="rejected", reason="killed", detail=detail, http_status=status, status="unmatched")
    if success is True and error_msg == "" and order_status in ACCEPTED_STATUSES:
        return _placed(status, body)
    # A refusal carries its message and no order: success false, or (the batch shape) success true
    # with an empty orderID and status. A message next to an orderID is contradictory: unknown.
    refused = success is False or (body.get("orderID") == "" and order_status in ("", None))
    if refused and isinstance(error_msg, str) and error_msg and order_status not in ACCEPTED_STATUSES:
        return _by_message(error_msg, status, default_kind="rejected", default_reason="rejected")
    return Classification(kind="unknown", reason="malformed_answer", detail=_text_of(body), http_status=status)


def _placed(status: int, body: dict[object, object]) -> Classification:
    order_id = body.get("orderID")
    making, taking = _amount(body, "makingAmount"), _amount(body, "takingAmount")
    trade_ids, hashes = _string_tuple(body.get("tradeIDs")), _string_tuple(body.get("transactionsHashes"))
    if not (isinstance(order_id, str) and order_id) or None in (making, taking, trade_ids, hashes):
        return Classification(kind="unknown", reason="malformed_answer", detail=_text_of(body), http_status=status)
    return Classification(
        kind="placed",
        reason=str(body["status"]),
        http_status=status,
        order_id=order_id,
        status=str(body["status"]),
        making_amount=making,
        taking_amount=taking,
        trade_ids=trade_ids or (),
        transaction_hashes=hashes or (),
    )


def _classify_unavailable(body: object) -> Classification:
    message = _message(body)
    if message is not None:
        verdict = _by_message(message, 503, default_kind="unknown", default_reason="server_error")
        if verdict.kind == "retry_later":
            return verdict
    return Classification(kind="unknown", reason="server_error", detail=_text_of(body), http_status=503)


def _classify_refusal(status: int, body: object) -> Classification:
    message = _message(body)
    if message is None:
        return Classification(kind="unknown", reason="unreadable_body", detail=_text_of(body), http_status=status)
    return _by_message(message, status, default_kind="rejected", default_reason="rejected")


def _by_message(message: str, status: int, *, default_kind: Kind, default_reason: str) -> Classification:
    for pattern, kind, reason in _MESSAGE_RULES:
        if pattern.search(message):
            return Classification(kind=kind, reason=reason, detail=message, http_status=status)
    return Classification(kind=default_kind, reason=default_reason, detail=message, http_status=status)


def _message(body: object) -> str | None:
    """The error text of a 4xx/5xx: ``error``, else ``errorMsg`` (which PMC drops); None if absent,
    empty or not a string (a non-string error is unreadable, hence unknown)."""
    if not isinstance(body, dict):
        return None
    for key in ("error", "errorMsg"):
        if key in body:
            value = body[key]
            return value if isinstance(value, str) and value.strip() else None
    return None


def _amount(body: dict[object, object], key: str) -> Decimal | None:
    # PMC requires both amount fields; "" means nothing filled yet.
    if key not in body:
        return None
    value = body[key]
    if value == "":
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _string_tuple(value: object) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _text_of(body: object) -> str:
    if isinstance(body, RawBody):
        return body.text[:300]
    return str(body)[:300]
