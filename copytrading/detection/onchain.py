"""Decoding Polymarket exchange ``OrderFilled`` logs (V1 and V2 layouts).

Every value in an ``OrderFilled`` log is seen from the order named by ``orderHash``, whose owner
is ``maker``: ``makerAmountFilled`` is what that order gave, ``takerAmountFilled`` what it got.
So the tracked wallet's side is always read from its *own* log (topic2 = wallet), never inferred
from the counterparty's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from polyhunter.lib.money import BASE_UNITS

TOPIC_ORDER_FILLED_V1 = "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6"
TOPIC_ORDER_FILLED_V2 = "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"
ORDER_FILLED_TOPICS = (TOPIC_ORDER_FILLED_V1, TOPIC_ORDER_FILLED_V2)

_V1_TYPES = ("uint256",) * 5
_V2_TYPES = ("uint8", "uint256", "uint256", "uint256", "uint256", "bytes32", "bytes32")
# Every field is static, so the encoding has an exact length; anything else is not this event.
_DATA_BYTES = {TOPIC_ORDER_FILLED_V1: 32 * len(_V1_TYPES), TOPIC_ORDER_FILLED_V2: 32 * len(_V2_TYPES)}
_WORD = re.compile(r"^0x[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
_HEX = re.compile(r"^0x(?:[0-9a-f]{2})*$")


class LogDecodeError(ValueError):
    """The log cannot become a fill. Callers skip it (and count it); it is never retried."""


class NotOrderFilled(LogDecodeError):
    """A well-formed log of another event (TransferSingle, OrdersMatched, …)."""


class MalformedLog(LogDecodeError):
    """Claims to be an OrderFilled log but its topics or data do not have that layout."""


@dataclass(frozen=True, slots=True)
class LeaderFill:
    """One ``OrderFilled`` leg, from the point of view of ``wallet`` (the order's owner)."""

    order_hash: str
    wallet: str
    counterparty: str
    is_taker_leg: bool
    side: str
    token_id: str
    shares: Decimal
    usdc: Decimal
    price: Decimal | None
    fee_raw: int
    fee_unit: str
    exchange: str
    version: int
    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str | None


def _hex(value: Any, *, field: str) -> str:
    """Lower-case 0x hex from a JSON-RPC string or the bytes web3 returns."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, str):
        text = value.lower()
        if _HEX.match(text):
            return text
    raise MalformedLog(f"{field} is not hex: {value!r}")


def _quantity(value: Any, *, field: str) -> int:
    if isinstance(value, bool):
        raise MalformedLog(f"{field} is not a quantity: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.match(r"^0x[0-9a-fA-F]+$", value):
        number = int(value, 16)
    else:
        raise MalformedLog(f"{field} is not a quantity: {value!r}")
    if number < 0:
        raise MalformedLog(f"{field} is negative")
    return number


def _word(value: Any, *, field: str) -> str:
    text = _hex(value, field=field)
    if not _WORD.match(text):
        raise MalformedLog(f"{field} is not a 32-byte word: {value!r}")
    return text


def _address_topic(value: Any, *, field: str) -> str:
    word = _word(value, field=field)
    if word[2:26] != "0" * 24:
        raise MalformedLog(f"{field} is not an address: {value!r}")
    return "0x" + word[26:]


def _topics(log: Mapping[str, Any]) -> list[str]:
    topics = log.get("topics")
    if not isinstance(topics, Sequence) or isinstance(topics, str | bytes) or not topics:
        raise MalformedLog("topics missing")
    return [_word(t, field="topic") for t in topics]


def decode_order_filled(log: Mapping[str, Any]) -> LeaderFill:
    """Decode one V1 or V2 ``OrderFilled`` log (JSON-RPC or web3 form).

    Raises NotOrderFilled for other events and MalformedLog for anything that does not have the
    exact layout; never returns a partial fill. ``removed`` is not looked at: what a retracted
    log means is the caller's decision.
    """
    if not isinstance(log, Mapping):
        raise MalformedLog("a log is a JSON object")
    topics = _topics(log)
    topic0 = topics[0]
    if topic0 not in ORDER_FILLED_TOPICS:
        raise NotOrderFilled(f"topic0 {topic0} is not OrderFilled")
    if len(topics) != 4:
        raise MalformedLog(f"OrderFilled has 4 topics, this log has {len(topics)}")
    data = bytes.fromhex(_hex(log.get("data"), field="data")[2:])
    if len(data) != _DATA_BYTES[topic0]:
        raise MalformedLog(f"OrderFilled data is {_DATA_BYTES[topic0]} bytes, this log has {len(data)}")
    exchange = _hex(log.get("address"), field="address")
    if not _ADDRESS.match(exchange):
        raise MalformedLog(f"address is not an address: {exchange!r}")
    wallet = _address_topic(topics[2], field="maker")
    counterparty = _address_topic(topics[3], field="taker")
    try:
        if topic0 == TOPIC_ORDER_FILLED_V2:
            side, token_id, making, taking, fee, fee_unit = _decode_v2(data)
        else:
            side, token_id, making, taking, fee, fee_unit = _decode_v1(data)
    except DecodingError as exc:
        raise MalformedLog(f"OrderFilled data does not decode: {exc}") from None
    usdc_raw, shares_raw = (making, taking) if side == "BUY" else (taking, making)
    block_hash = log.get("blockHash")
    return LeaderFill(
        order_hash=topics[1],
        wallet=wallet,
        counterparty=counterparty,
        is_taker_leg=counterparty == exchange,
        side=side,
        token_id=str(token_id),
        shares=Decimal(shares_raw) / BASE_UNITS,
        usdc=Decimal(usdc_raw) / BASE_UNITS,
        price=Decimal(usdc_raw) / Decimal(shares_raw) if shares_raw else None,
        fee_raw=fee,
        fee_unit=fee_unit,
        exchange=exchange,
        version=2 if topic0 == TOPIC_ORDER_FILLED_V2 else 1,
        tx_hash=_word(log.get("transactionHash"), field="transactionHash"),
        log_index=_quantity(log.get("logIndex"), field="logIndex"),
        block_number=_quantity(log.get("blockNumber"), field="blockNumber"),
        block_hash=_word(block_hash, field="blockHash") if block_hash is not None else None,
    )


def _decode_v2(data: bytes) -> tuple[str, int, int, int, int, str]:
    side_i, token_id, making, taking, fee, _builder, _metadata = abi_decode(_V2_TYPES, data)
    if side_i not in (0, 1):
        raise MalformedLog(f"V2 side is 0 or 1, not {side_i}")
    # V2 fees are collateral, charged to the taker leg.
    return ("BUY" if side_i == 0 else "SELL"), token_id, making, taking, fee, "collateral"


def _decode_v1(data: bytes) -> tuple[str, int, int, int, int, str]:
    maker_asset, taker_asset, making, taking, fee = abi_decode(_V1_TYPES, data)
    # Asset id 0 is the collateral: exactly one side of a V1 fill is collateral.
    if (maker_asset == 0) == (taker_asset == 0):
        raise MalformedLog("V1 fill must have exactly one collateral asset (id 0)")
    if maker_asset == 0:
        return "BUY", taker_asset, making, taking, fee, "shares"
    return "SELL", maker_asset, making, taking, fee, "collateral"
