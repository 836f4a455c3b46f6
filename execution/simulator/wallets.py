"""CREATE2 addresses of the wallets a signer may trade through (tests/fixtures/wallet_derivation_vectors.json).

Proxy and Safe use the factories' published init-code hashes; deposit wallets are Solady LibClone
ERC-1967 proxies (beacon, or the older UUPS implementation) carrying `abi.encode(factory, eoa)` as
immutable arguments, so their init code is rebuilt here byte for byte.
"""

from __future__ import annotations

from functools import lru_cache

from eth_utils.crypto import keccak

from .constants import (
    DEPOSIT_WALLET_BEACON,
    DEPOSIT_WALLET_FACTORY,
    DEPOSIT_WALLET_UUPS_IMPLEMENTATION,
    PROXY_FACTORY,
    PROXY_IMPLEMENTATION,
    SAFE_FACTORY,
    SAFE_INIT_CODE_HASH,
)
from .crypto import address_bytes, address_word


def _create2(factory: str, salt: bytes, init_code_hash: bytes) -> bytes:
    return keccak(b"\xff" + address_bytes(factory) + salt + init_code_hash)[12:]


def _proxy_init_code_hash() -> bytes:
    code = (
        "3d3d606380380380913d393d73"
        + PROXY_FACTORY[2:].lower()
        + "5af4602a57600080fd5b602d8060366000396000f3363d3d373d3d3d363d73"
        + PROXY_IMPLEMENTATION[2:].lower()
        + "5af43d82803e903d91602b57fd5bf352e831dd"
        + "0000000000000000000000000000000000000000000000000000000000000020"
        + "0000000000000000000000000000000000000000000000000000000000000000"
    )
    return keccak(bytes.fromhex(code))


_PROXY_INIT_CODE_HASH = _proxy_init_code_hash()


def _deposit_wallet_args(owner: bytes) -> bytes:
    return address_word(address_bytes(DEPOSIT_WALLET_FACTORY)) + address_word(owner)


def _length_prefix(base: int, args: bytes) -> bytes:
    # LibClone encodes the runtime length (which grows with the immutable args) into the
    # first PUSH2 of the creation code.
    return (base + (len(args) << 56)).to_bytes(10, "big")


def _uups_init_code_hash(args: bytes) -> bytes:
    code = (
        _length_prefix(0x61003D3D8160233D3973, args)
        + address_bytes(DEPOSIT_WALLET_UUPS_IMPLEMENTATION)
        + bytes.fromhex("6009")
        + bytes.fromhex("5155f3363d3d373d3d363d7f360894a13ba1a3210667c828492db98dca3e2076")
        + bytes.fromhex("cc3735a920a3ca505d382bbc545af43d6000803e6038573d6000fd5b3d6000f3")
        + args
    )
    return keccak(code)


def _beacon_init_code_hash(args: bytes) -> bytes:
    code = (
        _length_prefix(0x6100523D8160233D3973, args)
        + address_bytes(DEPOSIT_WALLET_BEACON)
        + bytes.fromhex("60195155f3363d3d373d3d363d602036600436635c60da")
        + bytes.fromhex("1b60e01b36527fa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6c")
        + bytes.fromhex("b3582b35133d50545afa5036515af43d6000803e604d573d6000fd5b3d6000f3")
        + args
    )
    return keccak(code)


@lru_cache(maxsize=4096)
def proxy_wallet(owner: bytes) -> bytes:
    return _create2(PROXY_FACTORY, keccak(owner), _PROXY_INIT_CODE_HASH)


@lru_cache(maxsize=4096)
def safe_wallet(owner: bytes) -> bytes:
    return _create2(SAFE_FACTORY, keccak(address_word(owner)), bytes.fromhex(SAFE_INIT_CODE_HASH[2:]))


@lru_cache(maxsize=4096)
def deposit_wallets(owner: bytes) -> tuple[bytes, bytes]:
    """(beacon deposit wallet, legacy UUPS deposit wallet) of an owner EOA."""
    args = _deposit_wallet_args(owner)
    salt = keccak(args)
    return (
        _create2(DEPOSIT_WALLET_FACTORY, salt, _beacon_init_code_hash(args)),
        _create2(DEPOSIT_WALLET_FACTORY, salt, _uups_init_code_hash(args)),
    )


def funder_for(owner: bytes, signature_type: int) -> bytes:
    """The wallet a signer trades through for a signature type (beacon deposit wallet for type 3)."""
    if signature_type == 1:
        return proxy_wallet(owner)
    if signature_type == 2:
        return safe_wallet(owner)
    if signature_type == 3:
        return deposit_wallets(owner)[0]
    return owner
