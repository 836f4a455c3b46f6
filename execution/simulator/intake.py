"""From a POST /order body to a verified order: shape, owner, domain, signature, amounts.

The checks run in the order the real venue is observed to apply them: payload shape, the API
key's ownership of the order, the signer, the signature over the exchange domain the market
implies, then market state and amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from . import errors
from .amounts import check_amounts
from .constants import EXCHANGE_V3, NEG_RISK_EXCHANGE_V2, STANDARD_EXCHANGE_V2
from .crypto import SignatureError, address_bytes, hex_address, order_domain_separator, order_struct_hash, typed_digest
from .errors import VenueError
from .models import ApiCredentials, Market, OrderType, Side
from .signatures import OwnerLookup, SessionCheck, verify_order_signature

ORDER_TYPES: frozenset[str] = frozenset(("GTC", "GTD", "FOK", "FAK"))
_V2_RESERVED_BITS = ((1 << 64) - 1) << 40
_V1_ONLY_FIELDS = ("nonce", "feeRateBps", "taker")
# A GTD order must outlive the venue's one-minute security threshold.
GTD_SECURITY_THRESHOLD_S = 60


def is_v2_position_id(token_id: int) -> bool:
    """Protocol-V2 position ids keep bits 40..103 clear; they trade on ExchangeV3 (domain "3")."""
    return token_id & _V2_RESERVED_BITS == 0


def exchange_domain(token_id: int, neg_risk: bool) -> tuple[str, str]:
    """(verifying contract, domain version) an order on this token must be signed for."""
    if is_v2_position_id(token_id):
        return EXCHANGE_V3, "3"
    return (NEG_RISK_EXCHANGE_V2 if neg_risk else STANDARD_EXCHANGE_V2), "2"


@dataclass(frozen=True, slots=True)
class Intake:
    order_id: str
    owner: str
    maker: str
    signer: str
    token_id: str
    side: Side
    order_type: OrderType
    maker_amount: int
    taker_amount: int
    price_e4: int
    size: int
    expiration: int
    post_only: bool
    signed_by: str
    signature_type: int


def _uint(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("bool is not an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isdecimal():
        number = int(value)
    else:
        raise ValueError("not an unsigned integer")
    if number < 0 or number >= 1 << 256:
        raise ValueError("out of range")
    return number


def _bytes32(value: object) -> bytes:
    if not isinstance(value, str) or len(value) != 66 or not value.startswith("0x"):
        raise ValueError("not bytes32")
    return bytes.fromhex(value[2:])


def _address(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not an address")
    return address_bytes(value)


def parse_and_verify(
    payload: object,
    *,
    credentials: ApiCredentials,
    markets_by_token: Mapping[str, Market],
    chain_id: int,
    now: float,
    min_marketable_buy: Decimal,
    session_authorized: SessionCheck,
    registered_owner: OwnerLookup,
) -> tuple[Intake, Market]:
    if not isinstance(payload, dict) or not isinstance(payload.get("order"), dict):
        raise VenueError(errors.INVALID_ORDER_PAYLOAD)
    order = payload["order"]
    if "timestamp" not in order and any(name in order for name in _V1_ONLY_FIELDS):
        raise VenueError(errors.ORDER_VERSION_MISMATCH)
    order_type = payload.get("orderType")
    owner = payload.get("owner")
    post_only = payload.get("postOnly", False)
    if order_type not in ORDER_TYPES or not isinstance(owner, str) or not isinstance(post_only, bool):
        raise VenueError(errors.INVALID_ORDER_PAYLOAD)
    try:
        salt = _uint(order["salt"])
        maker = _address(order["maker"])
        signer = _address(order["signer"])
        token_id = _uint(order["tokenId"])
        maker_amount = _uint(order["makerAmount"])
        taker_amount = _uint(order["takerAmount"])
        side_text = order["side"]
        side = {"BUY": 0, "SELL": 1}[side_text]
        signature_type = _uint(order["signatureType"])
        timestamp = _uint(order["timestamp"])
        metadata = _bytes32(order["metadata"])
        builder = _bytes32(order["builder"])
        expiration = _uint(order.get("expiration", "0"))
        signature_text = order["signature"]
        if not isinstance(signature_text, str) or not signature_text.startswith("0x"):
            raise ValueError("signature")
        signature = bytes.fromhex(signature_text[2:])
    except (KeyError, ValueError, TypeError):
        raise VenueError(errors.INVALID_ORDER_PAYLOAD) from None
    if owner != credentials.key:
        raise VenueError(errors.ORDER_OWNER_MISMATCH)
    market = markets_by_token.get(str(token_id))
    if market is None:
        raise VenueError(errors.INVALID_ORDER_PAYLOAD)
    exchange, version = exchange_domain(token_id, market.neg_risk)
    digest = typed_digest(
        order_domain_separator(chain_id, exchange, version),
        order_struct_hash(
            salt=salt,
            maker=maker,
            signer=signer,
            token_id=token_id,
            maker_amount=maker_amount,
            taker_amount=taker_amount,
            side=side,
            signature_type=signature_type,
            timestamp=timestamp,
            metadata=metadata,
            builder=builder,
        ),
    )
    order_id = "0x" + digest.hex()
    key_address = address_bytes(credentials.address)
    if signature_type != 3 and signer != key_address:
        raise VenueError(errors.ORDER_SIGNER_MISMATCH)
    try:
        signed_by = verify_order_signature(
            digest=digest,
            chain_id=chain_id,
            maker=maker,
            signer=signer,
            signature_type=signature_type,
            signature=signature,
            session_authorized=session_authorized,
            registered_owner=registered_owner,
        )
    except SignatureError:
        raise VenueError(errors.INVALID_SIGNATURE) from None
    if signed_by != key_address:
        raise VenueError(errors.ORDER_SIGNER_MISMATCH)
    if not market.accepting_orders:
        raise VenueError(errors.MARKET_NOT_READY)
    if order_type == "GTD":
        if expiration <= now + GTD_SECURITY_THRESHOLD_S:
            raise VenueError(errors.INVALID_EXPIRATION)
    elif expiration != 0:
        raise VenueError(errors.INVALID_EXPIRATION)
    marketable_type = order_type in ("FOK", "FAK")
    if post_only and marketable_type:
        raise VenueError(errors.INVALID_ORDER_PAYLOAD)
    priced = check_amounts(
        order_id=order_id,
        side=side_text,
        marketable_type=marketable_type,
        maker_amount=maker_amount,
        taker_amount=taker_amount,
        tick=market.tick_size,
        min_order_size=market.min_order_size,
        min_marketable_buy=min_marketable_buy,
    )
    intake = Intake(
        order_id=order_id,
        owner=owner,
        maker=hex_address(maker),
        signer=hex_address(signer),
        token_id=str(token_id),
        side=side_text,
        order_type=order_type,
        maker_amount=maker_amount,
        taker_amount=taker_amount,
        price_e4=priced.price_e4,
        size=priced.size,
        expiration=expiration,
        post_only=post_only,
        signed_by=hex_address(signed_by),
        signature_type=signature_type,
    )
    return intake, market
