"""Who signed an order, by the exchange's rules (CTFExchangeV2 `Signatures.sol`).

Types 0/1/2 are a plain ECDSA signature by the EOA, with the maker being the EOA itself, its
Polymarket proxy or its Safe. Type 3 is a deposit wallet (ERC-1271): the owner's signature over an
ERC-7739 `TypedDataSign` wrapper followed by a trailer that must rebuild the order hash; a session
key's signature carries the ERC-6492-style magic suffix, names the signer it claims to be, and is accepted
only while the wallet's registry (sessions.py) holds an unexpired, unrevoked CLOB grant for it.
"""

from __future__ import annotations

from collections.abc import Callable

from eth_abi.abi import decode as abi_decode

from .constants import ORDER_TYPE_STRING
from .crypto import SignatureError, deposit_wallet_digest, recover_address, typed_digest
from .wallets import deposit_wallets, proxy_wallet, safe_wallet

_SESSION_MAGIC = bytes.fromhex("64926492" * 8)
_TYPE_STRING = ORDER_TYPE_STRING.encode()
_TRAILER_LENGTH = 65 + 32 + 32 + len(_TYPE_STRING) + 2

SessionCheck = Callable[[bytes, bytes], bool]
OwnerLookup = Callable[[bytes], bytes | None]


def verify_order_signature(
    *,
    digest: bytes,
    chain_id: int,
    maker: bytes,
    signer: bytes,
    signature_type: int,
    signature: bytes,
    session_authorized: SessionCheck,
    registered_owner: OwnerLookup,
) -> bytes:
    """The address of the key that signed (EOA, deposit-wallet owner or session key).

    Raises SignatureError when the order is not validly signed for `digest` under its type.
    """
    if signature_type in (0, 1, 2):
        recovered = recover_address(digest, signature)
        if recovered != signer:
            raise SignatureError("ecrecover does not give the signer")
        expected_maker = (signer, proxy_wallet(signer), safe_wallet(signer))[signature_type]
        if maker != expected_maker:
            raise SignatureError("maker is not the signer's wallet of this type")
        return recovered
    if signature_type != 3:
        raise SignatureError("unknown signature type")
    if maker != signer:
        raise SignatureError("a deposit-wallet order is signed by the wallet itself")
    declared: bytes | None = None
    if signature.endswith(_SESSION_MAGIC):
        declared, signature = _unwrap_session(signature)
    key = _verify_erc7739(digest=digest, chain_id=chain_id, wallet=maker, signature=signature)
    if declared is not None:
        # The wallet looks the declared signer up in its registry and checks the signature
        # against it: a wrapper naming one signer and signed by another is a forgery.
        if key != declared:
            raise SignatureError("session signature not made by the signer it names")
        if not session_authorized(maker, key):
            raise SignatureError("session key not authorised for this deposit wallet")
        return key
    owner = registered_owner(maker)
    if owner is not None:
        if owner != key:
            raise SignatureError("not signed by the deposit wallet's owner")
        return key
    if maker not in deposit_wallets(key):
        raise SignatureError("not signed by the deposit wallet's owner")
    return key


def _unwrap_session(signature: bytes) -> tuple[bytes, bytes]:
    """(declared session signer, inner ERC-7739 signature) of ``abi.encode(bytes32 signer,
    bytes32 0, bytes sig) ‖ magic`` (polymarket-client ``wrap_deposit_wallet_session_signer_signature``)."""
    try:
        signer_id, zero, inner = abi_decode(["bytes32", "bytes32", "bytes"], signature[: -len(_SESSION_MAGIC)])
    except Exception as exc:  # eth_abi raises its own hierarchy for garbage
        raise SignatureError("malformed session signature") from exc
    assert isinstance(signer_id, bytes)
    assert isinstance(zero, bytes)
    assert isinstance(inner, bytes)
    if signer_id[:12] != bytes(12) or zero != bytes(32):
        raise SignatureError("malformed session signature")
    return signer_id[12:], inner


def _verify_erc7739(*, digest: bytes, chain_id: int, wallet: bytes, signature: bytes) -> bytes:
    if len(signature) != _TRAILER_LENGTH:
        raise SignatureError("bad ERC-7739 trailer length")
    described = int.from_bytes(signature[-2:], "big")
    if described != len(_TYPE_STRING) or signature[-2 - described : -2] != _TYPE_STRING:
        raise SignatureError("bad ERC-7739 contents description")
    owner_signature, app_separator, contents = signature[:65], signature[65:97], signature[97:129]
    if typed_digest(app_separator, contents) != digest:
        raise SignatureError("trailer does not rebuild the order hash")
    wrapped = deposit_wallet_digest(
        chain_id=chain_id, wallet=wallet, app_domain_separator=app_separator, contents=contents
    )
    return recover_address(wrapped, owner_signature)
