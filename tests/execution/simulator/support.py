"""Client-side helpers for the simulator's tests, written independently of the simulator's code.

Orders are signed with eth_account's generic EIP-712 encoder (types 0/1/2) or the official SDK's
functions (type 3); L2 headers with hmac/hashlib. Nothing here imports the simulator's crypto.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

PK0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # Hardhat/Anvil dev key #0
ADDR0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
PK1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # Hardhat/Anvil dev key #1
ADDR1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
# Wallets of key #0 (fixtures/wallet_derivation_vectors.json).
PROXY0 = "0x365f0CA36Ae1f641E02fE3B7743673da42A13A70"
SAFE0 = "0xd93B25cb943D14d0d34FBaF01Fc93a0f8b5F6E47"
DEPOSIT0 = "0xBc0fF067b7740Eff76C1ca93c875Ba6B890d6B50"

STANDARD_EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE = "0xe2222d279d744050d28e00520010520000310F59"
EXCHANGE_V3 = "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa"

# Realistic 77-digit CTF token ids (short ids would be protocol-V2 positions, signed for ExchangeV3).
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
NR_YES = "72610532355343625199299853218161700546393390326785971247545541945337255643692"
NR_NO = "33507963070620649762144944331241609312903313601210934738148421620353685107636"
CID = "0x" + "ab" * 32
NR_CID = "0x9d839bf0aa31324b9848f5b89841b779238a7c07dee2f7fca675d934e8ab5bf2"
ZERO32 = "0x" + "00" * 32

ORDER_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]


class Clock:
    """A settable clock for Venue(clock=...)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ShiftedClock:
    """Real time plus a settable offset: for a served venue that real clients talk to."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def scenario(**overrides: Any) -> dict[str, Any]:
    """One standard market (tick 0.01, fee 0) and one neg-risk market (tick 0.001), manual settlement."""
    base: dict[str, Any] = {
        "markets": [
            {
                "condition_id": CID,
                "tokens": [{"token_id": YES, "outcome": "Yes"}, {"token_id": NO, "outcome": "No"}],
                "tick_size": "0.01",
                "min_order_size": "5",
                "title": "Will it rain?",
                "slug": "will-it-rain",
            },
            {
                "condition_id": NR_CID,
                "tokens": [{"token_id": NR_YES, "outcome": "Yes"}, {"token_id": NR_NO, "outcome": "No"}],
                "tick_size": "0.001",
                "neg_risk": True,
            },
        ],
        "books": [],
        "balances": [{"address": ADDR0, "pusd": "1000"}],
        "settlement": {"manual": True},
    }
    base.update(overrides)
    return base


def sign_order(
    private_key: str,
    *,
    token_id: str,
    side: str,
    maker_amount: int,
    taker_amount: int,
    signature_type: int = 0,
    maker: str | None = None,
    exchange: str = STANDARD_EXCHANGE,
    version: str = "2",
    chain_id: int = 137,
    salt: int | None = None,
    timestamp_ms: int | None = None,
    expiration: int = 0,
) -> dict[str, Any]:
    """A V2 order as the SDK sends it, signed by a plain EOA key (signature types 0, 1 and 2)."""
    account = Account.from_key(private_key)
    message = {
        "salt": secrets.randbits(53) if salt is None else salt,
        "maker": maker or account.address,
        "signer": account.address,
        "tokenId": int(token_id),
        "makerAmount": maker_amount,
        "takerAmount": taker_amount,
        "side": 0 if side == "BUY" else 1,
        "signatureType": signature_type,
        "timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        "metadata": bytes(32),
        "builder": bytes(32),
    }
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": ORDER_FIELDS,
        },
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": version,
            "chainId": chain_id,
            "verifyingContract": exchange,
        },
        "message": message,
    }
    signature = Account.sign_message(encode_typed_data(full_message=typed), private_key).signature.hex()
    return {
        "builder": ZERO32,
        "expiration": str(expiration),
        "maker": message["maker"],
        "makerAmount": str(maker_amount),
        "metadata": ZERO32,
        "salt": message["salt"],
        "side": side,
        "signature": signature if signature.startswith("0x") else "0x" + signature,
        "signatureType": signature_type,
        "signer": account.address,
        "takerAmount": str(taker_amount),
        "timestamp": str(message["timestamp"]),
        "tokenId": token_id,
    }


def sign_deposit_wallet_order(
    private_key: str,
    *,
    wallet: str,
    token_id: str,
    side: str,
    maker_amount: int,
    taker_amount: int,
    exchange: str = STANDARD_EXCHANGE,
    session: bool = False,
    chain_id: int = 137,
) -> dict[str, Any]:
    """A type-3 (POLY_1271) order built and signed with the official SDK's own functions."""
    from polymarket._internal.actions.orders.orders import create_signed_order
    from polymarket._internal.actions.orders.typed_data import build_order_signature, build_order_typed_data
    from polymarket._internal.actions.orders.types import BYTES32_ZERO, UnsignedOrder
    from polymarket._internal.wallet import wrap_deposit_wallet_signature
    from polymarket.types import EvmAddress

    account = Account.from_key(private_key)
    unsigned = UnsignedOrder(
        chain_id=chain_id,
        builder=BYTES32_ZERO,
        exchange_address=EvmAddress(exchange),
        expiration=0,
        maker=EvmAddress(wallet),
        maker_amount=maker_amount,
        metadata=BYTES32_ZERO,
        order_type="GTC",
        salt=secrets.randbits(53),
        side=side,  # type: ignore[arg-type]
        signature_type=3,
        signer=EvmAddress(wallet),
        taker_amount=taker_amount,
        timestamp=int(time.time() * 1000),
        token_id=token_id,  # type: ignore[arg-type]
    )
    raw = account.sign_typed_data(full_message=build_order_typed_data(unsigned)).signature.hex()
    signature = build_order_signature(unsigned, raw if raw.startswith("0x") else "0x" + raw)
    final = wrap_deposit_wallet_signature(
        signer=account.address, signer_type="SESSION_KEY" if session else "OWNER", signature=signature
    )
    signed = create_signed_order(unsigned, final)
    return {
        "builder": signed.builder,
        "expiration": str(signed.expiration),
        "maker": signed.maker,
        "makerAmount": str(signed.maker_amount),
        "metadata": signed.metadata,
        "salt": signed.salt,
        "side": signed.side,
        "signature": signed.signature,
        "signatureType": signed.signature_type,
        "signer": signed.signer,
        "takerAmount": str(signed.taker_amount),
        "timestamp": str(signed.timestamp),
        "tokenId": signed.token_id,
    }


def limit_amounts(side: str, price: str, shares: str) -> tuple[int, int]:
    """(makerAmount, takerAmount) of a limit order whose price * size is exact in 6 decimals."""
    size = int(Decimal(shares) * 1_000_000)
    usdc = int(Decimal(shares) * Decimal(price) * 1_000_000)
    return (usdc, size) if side == "BUY" else (size, usdc)


def body(order: dict[str, Any], owner: str, order_type: str = "GTC", *, post_only: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = {"deferExec": False, "order": order, "orderType": order_type, "owner": owner}
    if post_only:
        payload["postOnly"] = True
    return payload


@dataclass(frozen=True)
class Creds:
    key: str
    secret: str
    passphrase: str


def l2_headers(
    creds: Any, address: str, method: str, path: str, body_text: str = "", timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    key = base64.urlsafe_b64decode(creds.secret + "=" * (-len(creds.secret) % 4))
    digest = hmac.new(key, f"{ts}{method}{path}{body_text}".encode(), hashlib.sha256).digest()
    return {
        "POLY_ADDRESS": address,
        "POLY_API_KEY": creds.key,
        "POLY_PASSPHRASE": creds.passphrase,
        "POLY_TIMESTAMP": ts,
        "POLY_SIGNATURE": base64.urlsafe_b64encode(digest).decode(),
        "Content-Type": "application/json",
    }


def l1_headers(
    private_key: str, *, timestamp: int | None = None, nonce: int = 0, chain_id: int = 137
) -> dict[str, str]:
    account = Account.from_key(private_key)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "ClobAuth": [
                {"name": "address", "type": "address"},
                {"name": "timestamp", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "message", "type": "string"},
            ],
        },
        "primaryType": "ClobAuth",
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
        "message": {
            "address": account.address,
            "timestamp": ts,
            "nonce": nonce,
            "message": "This message attests that I control the given wallet",
        },
    }
    signature = account.sign_message(encode_typed_data(full_message=typed)).signature.hex()
    return {
        "POLY_ADDRESS": account.address,
        "POLY_SIGNATURE": signature if signature.startswith("0x") else "0x" + signature,
        "POLY_TIMESTAMP": ts,
        "POLY_NONCE": str(nonce),
    }


def compact(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"))
