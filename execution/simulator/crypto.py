"""EIP-712 digests, ECDSA recovery and the L2 HMAC, written out by hand.

The order struct is encoded word by word instead of through a generic typed-data encoder: it is
the hot path of every POST /order, and a fixed 12-word layout is both faster and easier to audit
against the contract (CTFExchangeV2 `Structs.sol`). Recovery goes through eth_keys on the
coincurve backend (libsecp256k1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from eth_keys.backends.coincurve import CoinCurveECCBackend
from eth_keys.datatypes import Signature
from eth_utils.crypto import keccak

from .constants import CLOB_AUTH_DOMAIN_NAME, CLOB_AUTH_MESSAGE, ORDER_DOMAIN_NAME, ORDER_TYPE_STRING

_BACKEND = CoinCurveECCBackend()

DOMAIN_WITH_CONTRACT_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
DOMAIN_WITHOUT_CONTRACT_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId)")
ORDER_TYPEHASH = keccak(text=ORDER_TYPE_STRING)
CLOB_AUTH_TYPEHASH = keccak(text="ClobAuth(address address,string timestamp,uint256 nonce,string message)")
TYPED_DATA_SIGN_TYPEHASH = keccak(
    text="TypedDataSign(Order contents,string name,string version,uint256 chainId,address verifyingContract,"
    "bytes32 salt)" + ORDER_TYPE_STRING
)
_CLOB_AUTH_MESSAGE_HASH = keccak(text=CLOB_AUTH_MESSAGE)
_DEPOSIT_WALLET_NAME_HASH = keccak(text="DepositWallet")
_DEPOSIT_WALLET_VERSION_HASH = keccak(text="1")
_ZERO_WORD = bytes(32)
CALL_TYPEHASH = keccak(text="Call(address target,uint256 value,bytes data)")
BATCH_TYPEHASH = keccak(
    text="Batch(address wallet,uint256 nonce,uint256 deadline,Call[] calls)"
    "Call(address target,uint256 value,bytes data)"
)


class SignatureError(ValueError):
    """A signature that is malformed or does not recover."""


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def address_bytes(address: str) -> bytes:
    """20 raw bytes of a 0x-prefixed hex address (any case); ValueError if malformed."""
    if len(address) != 42 or address[:2] not in ("0x", "0X"):
        raise ValueError("not an address")
    return bytes.fromhex(address[2:])


def address_word(address: bytes) -> bytes:
    return bytes(12) + address


def hex_address(raw: bytes) -> str:
    """Lower-case 0x address: the simulator's canonical key for wallets."""
    return "0x" + raw.hex()


@lru_cache(maxsize=64)
def order_domain_separator(chain_id: int, exchange: str, version: str) -> bytes:
    return keccak(
        DOMAIN_WITH_CONTRACT_TYPEHASH
        + keccak(text=ORDER_DOMAIN_NAME)
        + keccak(text=version)
        + word(chain_id)
        + address_word(address_bytes(exchange))
    )


def order_struct_hash(
    *,
    salt: int,
    maker: bytes,
    signer: bytes,
    token_id: int,
    maker_amount: int,
    taker_amount: int,
    side: int,
    signature_type: int,
    timestamp: int,
    metadata: bytes,
    builder: bytes,
) -> bytes:
    return keccak(
        b"".join(
            (
                ORDER_TYPEHASH,
                word(salt),
                address_word(maker),
                address_word(signer),
                word(token_id),
                word(maker_amount),
                word(taker_amount),
                word(side),
                word(signature_type),
                word(timestamp),
                metadata,
                builder,
            )
        )
    )


def typed_digest(domain_separator: bytes, struct_hash: bytes) -> bytes:
    return keccak(b"\x19\x01" + domain_separator + struct_hash)


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address whose key produced a 65-byte (r, s, v) signature over `digest`."""
    if len(signature) != 65:
        raise SignatureError("signature must be 65 bytes")
    v = signature[64]
    if v >= 27:
        v -= 27
    if v not in (0, 1):
        raise SignatureError("bad recovery id")
    try:
        parsed = Signature(signature_bytes=signature[:64] + bytes((v,)), backend=_BACKEND)
        public_key = parsed.recover_public_key_from_msg_hash(digest)
    except Exception as exc:  # eth_keys raises several unrelated types for garbage input
        raise SignatureError("signature does not recover") from exc
    return public_key.to_canonical_address()


@lru_cache(maxsize=8)
def clob_auth_domain_separator(chain_id: int) -> bytes:
    return keccak(
        DOMAIN_WITHOUT_CONTRACT_TYPEHASH + keccak(text=CLOB_AUTH_DOMAIN_NAME) + keccak(text="1") + word(chain_id)
    )


def clob_auth_digest(*, chain_id: int, address: bytes, timestamp: str, nonce: int) -> bytes:
    struct_hash = keccak(
        CLOB_AUTH_TYPEHASH + address_word(address) + keccak(text=timestamp) + word(nonce) + _CLOB_AUTH_MESSAGE_HASH
    )
    return typed_digest(clob_auth_domain_separator(chain_id), struct_hash)


def deposit_wallet_digest(*, chain_id: int, wallet: bytes, app_domain_separator: bytes, contents: bytes) -> bytes:
    """What a deposit wallet's owner signs for an order (ERC-7739 nested typed data, Solady layout)."""
    typed_data_sign = keccak(
        TYPED_DATA_SIGN_TYPEHASH
        + contents
        + _DEPOSIT_WALLET_NAME_HASH
        + _DEPOSIT_WALLET_VERSION_HASH
        + word(chain_id)
        + address_word(wallet)
        + _ZERO_WORD
    )
    return typed_digest(app_domain_separator, typed_data_sign)


def deposit_wallet_domain_separator(chain_id: int, wallet: bytes) -> bytes:
    return keccak(
        DOMAIN_WITH_CONTRACT_TYPEHASH
        + _DEPOSIT_WALLET_NAME_HASH
        + _DEPOSIT_WALLET_VERSION_HASH
        + word(chain_id)
        + address_word(wallet)
    )


def deposit_wallet_batch_digest(
    *, chain_id: int, wallet: bytes, nonce: int, deadline: int, calls: list[tuple[bytes, int, bytes]]
) -> bytes:
    """What a deposit wallet's owner signs to have the relayer run calls from the wallet
    (EIP-712 ``Batch`` on the wallet's ``DepositWallet`` domain; calls are (target, value, data))."""
    call_hashes = b"".join(
        keccak(CALL_TYPEHASH + address_word(target) + word(value) + keccak(data)) for target, value, data in calls
    )
    struct_hash = keccak(BATCH_TYPEHASH + address_word(wallet) + word(nonce) + word(deadline) + keccak(call_hashes))
    return typed_digest(deposit_wallet_domain_separator(chain_id, wallet), struct_hash)


def decode_secret(secret: str) -> bytes:
    return base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))


def l2_signature(secret_key: bytes, timestamp: str, method: str, path: str, body: bytes) -> str:
    """base64url(HMAC-SHA256(secret, timestamp + METHOD + path + body)) with padding (reference §3.2)."""
    message = timestamp.encode() + method.encode() + path.encode() + body
    return base64.urlsafe_b64encode(hmac.new(secret_key, message, hashlib.sha256).digest()).decode()
