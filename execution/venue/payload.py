"""The signed order as it is persisted before sending and re-sent, byte for byte, afterwards.

``body`` is kept as the exact compact JSON text of the POST body, not as a dict: a JSONB column
reorders object keys, and re-serialising a reordered dict would send different bytes. The HMAC
headers are not part of the payload; they are computed over ``body`` at send time.

``from_json`` re-verifies a persisted payload (fields present, the body's order hashes to the
stored order hash) before anything may send it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from polymarket._internal.actions.orders.post import build_post_order_request
from polymarket.models.clob.orders import SignedOrder

from execution.venue.errors import CorruptPayload
from execution.venue.hashing import order_hash

PAYLOAD_FORMAT = 1
ORDER_PATH = "/order"


@dataclass(frozen=True, kw_only=True)
class SignedOrderPayload:
    """A signed order ready to POST. JSON round-trip: ``to_json`` / ``from_json``.

    ``api_address`` is the POLY_ADDRESS of the L2 headers: the EOA that owns the API key (also
    for proxy, Safe and deposit-wallet orders, whose ``order.signer``/``maker`` differ). The body
    carries the API key as ``owner`` (an identifier, not a secret); never the secret/passphrase.
    """

    body: str
    order_hash: str
    order_type: str
    exchange: str
    domain_version: str
    chain_id: int
    api_address: str
    path: str = ORDER_PATH

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PAYLOAD_FORMAT,
            "path": self.path,
            "body": self.body,
            "order_hash": self.order_hash,
            "order_type": self.order_type,
            "exchange": self.exchange,
            "domain_version": self.domain_version,
            "chain_id": self.chain_id,
            "api_address": self.api_address,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignedOrderPayload:
        """Rebuild and verify a persisted payload; raises CorruptPayload when it does not verify."""
        try:
            if data["format"] != PAYLOAD_FORMAT:
                raise CorruptPayload(f"unknown payload format {data['format']!r}")
            payload = cls(
                body=_text(data["body"]),
                order_hash=_text(data["order_hash"]),
                order_type=_text(data["order_type"]),
                exchange=_text(data["exchange"]),
                domain_version=_text(data["domain_version"]),
                chain_id=_integer(data["chain_id"]),
                api_address=_text(data["api_address"]),
                path=_text(data["path"]),
            )
        except (KeyError, TypeError) as exc:
            raise CorruptPayload(f"signed payload is missing or mistypes a field: {exc}") from None
        payload.verify()
        return payload

    def verify(self) -> None:
        """The body parses, names the same order type, and its order hashes to ``order_hash``."""
        if self.path != ORDER_PATH:
            raise CorruptPayload(f"unexpected path {self.path!r}")
        try:
            recomputed = order_hash(
                self.order, chain_id=self.chain_id, exchange=self.exchange, version=self.domain_version
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptPayload(f"signed body does not parse: {exc}") from None
        if recomputed != self.order_hash.lower():
            raise CorruptPayload(f"signed body hashes to {recomputed}, not to the stored {self.order_hash}")
        if self.parsed_body.get("orderType") != self.order_type:
            raise CorruptPayload("signed body's orderType differs from the payload's")

    @cached_property
    def parsed_body(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.body)
        except ValueError:
            raise CorruptPayload("signed body is not JSON") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("order"), dict):
            raise CorruptPayload("signed body has no order object")
        return parsed

    @property
    def order(self) -> dict[str, Any]:
        order: dict[str, Any] = self.parsed_body["order"]
        return order

    @property
    def owner(self) -> str:
        return str(self.parsed_body.get("owner", ""))

    @property
    def side(self) -> str:
        return str(self.order["side"])

    @property
    def token_id(self) -> str:
        return str(self.order["tokenId"])

    @property
    def maker_amount(self) -> int:
        return int(self.order["makerAmount"])

    @property
    def taker_amount(self) -> int:
        return int(self.order["takerAmount"])


def payload_from_signed_order(
    signed: SignedOrder, *, owner_api_key: str, chain_id: int, exchange: str, domain_version: str, api_address: str
) -> SignedOrderPayload:
    """Serialise an SDK SignedOrder exactly as the SDK's own transport would POST it."""
    path, body = build_post_order_request(signed, owner_api_key=owner_api_key)
    text = json.dumps(body, separators=(",", ":"))
    return SignedOrderPayload(
        body=text,
        order_hash=order_hash(body["order"], chain_id=chain_id, exchange=exchange, version=domain_version),
        order_type=signed.order_type,
        exchange=exchange,
        domain_version=domain_version,
        chain_id=chain_id,
        api_address=api_address,
        path=path,
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value
