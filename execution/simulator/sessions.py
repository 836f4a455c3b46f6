"""Deposit-wallet session signers: the registry a wallet keeps on chain, and the relayer's
authorise / revoke operations that write it.

A deposit wallet's owner authorises a session signer with ``authorizeSessionSigner(signer,
validUntil)`` (scopes travel with the relayer request) and removes it with
``revokeSessionSigner(signer)``; both are calls inside a ``Batch`` the owner signs with EIP-712
on the wallet's ``DepositWallet`` domain (what polymarket-client 0.14.0 sends to
``/v1/session-signers/authorizations`` and ``/revocations``). The simulator checks that batch
signature with its own code, keeps the grants, and answers the order check "may this signer
sign CLOB orders for this wallet now?".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from . import errors
from .crypto import SignatureError, address_bytes, deposit_wallet_batch_digest, recover_address
from .errors import VenueError
from .wallets import deposit_wallets

CLOB_SCOPE = "CLOB"
ALL_SCOPE = "ALL"
# What the SDK sends for a new authorisation (4,315 h, about 180 days; session_keys.py).
DEFAULT_LIFETIME_S = 4_315 * 60 * 60
_AUTHORIZE_SELECTOR = keccak(text="authorizeSessionSigner(address,uint256)")[:4]
_REVOKE_SELECTOR = keccak(text="revokeSessionSigner(address)")[:4]

OwnerLookup = Callable[[bytes], bytes | None]


@dataclass(slots=True)
class SessionGrant:
    wallet: bytes
    signer: bytes
    scopes: tuple[str, ...]
    valid_until: int
    authorised_at: float
    revoked_at: float | None = None

    def allows(self, scope: str, now: float) -> bool:
        in_scope = scope in self.scopes or ALL_SCOPE in self.scopes
        return in_scope and self.revoked_at is None and now < self.valid_until

    def view(self) -> dict[str, object]:
        return {"address": "0x" + self.signer.hex(), "scopes": list(self.scopes), "valid_until": self.valid_until}


class SessionRegistry:
    """Grants per (wallet, signer); the owner's batch nonce per owner EOA (the relayer's counter)."""

    def __init__(self) -> None:
        self._grants: dict[tuple[bytes, bytes], SessionGrant] = {}
        self._nonces: dict[bytes, int] = {}

    def grant(self, wallet: bytes, signer: bytes, scopes: tuple[str, ...], valid_until: int, now: float) -> None:
        self._grants[(wallet, signer)] = SessionGrant(wallet, signer, scopes, valid_until, now)

    def revoke(self, wallet: bytes, signer: bytes, now: float) -> bool:
        grant = self._grants.get((wallet, signer))
        if grant is None or grant.revoked_at is not None:
            return False
        grant.revoked_at = now
        return True

    def allows(self, wallet: bytes, signer: bytes, scope: str, now: float) -> bool:
        grant = self._grants.get((wallet, signer))
        return grant is not None and grant.allows(scope, now)

    def active(self, wallet: bytes, now: float) -> list[SessionGrant]:
        """Signers that may still sign for the wallet (any scope), oldest grant first."""
        grants = [g for g in self._grants.values() if g.wallet == wallet and g.revoked_at is None]
        return sorted((g for g in grants if now < g.valid_until), key=lambda g: g.authorised_at)

    def wallet_of_signer(self, signer: bytes) -> bytes | None:
        """The wallet that most recently authorised this signer (whatever its state now)."""
        named = [g for g in self._grants.values() if g.signer == signer]
        return max(named, key=lambda g: g.authorised_at).wallet if named else None

    def has_grants(self, wallet: bytes) -> bool:
        return any(g.wallet == wallet for g in self._grants.values())

    def nonce(self, owner: bytes) -> int:
        return self._nonces.get(owner, 0)

    def use_nonce(self, owner: bytes, nonce: int) -> None:
        if nonce != self.nonce(owner):
            raise VenueError(errors.RELAYER_INVALID_NONCE)
        self._nonces[owner] = nonce + 1


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """A parsed relayer request to authorise (``valid_until`` set) or revoke a session signer."""

    wallet: bytes
    signer: bytes
    nonce: int
    deadline: int
    signature: bytes
    scopes: tuple[str, ...] = ()
    valid_until: int | None = None

    @property
    def call_data(self) -> bytes:
        if self.valid_until is None:
            return _REVOKE_SELECTOR + abi_encode(["address"], ["0x" + self.signer.hex()])
        return _AUTHORIZE_SELECTOR + abi_encode(["address", "uint256"], ["0x" + self.signer.hex(), self.valid_until])


def parse_session_request(payload: object, *, authorise: bool) -> SessionRequest:
    """The relayer body the SDK builds (session_keys.py ``_build_*_payload``); 400 when malformed."""
    if not isinstance(payload, dict):
        raise VenueError(errors.RELAYER_INVALID_PAYLOAD)
    try:
        wallet = address_bytes(_text(payload["walletAddress"]))
        signer = address_bytes(_text(payload["sessionSignerAddress"]))
        nonce = _decimal(payload["nonce"])
        deadline = _decimal(payload["deadline"])
        signature = bytes.fromhex(_text(payload["signature"]).removeprefix("0x"))
        scopes: tuple[str, ...] = ()
        valid_until = None
        if authorise:
            raw_scopes = payload["scopes"]
            if not isinstance(raw_scopes, list) or not raw_scopes:
                raise ValueError("scopes")
            scopes = tuple(_text(scope).upper() for scope in raw_scopes)
            valid_until = _decimal(payload["validUntil"])
    except (KeyError, ValueError, TypeError):
        raise VenueError(errors.RELAYER_INVALID_PAYLOAD) from None
    if signer == bytes(20):
        raise VenueError(errors.RELAYER_INVALID_PAYLOAD)
    if ALL_SCOPE in scopes and len(scopes) > 1:
        raise VenueError(errors.RELAYER_INVALID_PAYLOAD)
    return SessionRequest(wallet, signer, nonce, deadline, signature, scopes, valid_until)


def verify_owner_batch(request: SessionRequest, *, chain_id: int, now: float, registered_owner: OwnerLookup) -> bytes:
    """The owner EOA that signed the request's one-call batch; 400 when it is not the wallet's owner.

    The batch holds exactly the call the request describes (target the wallet, value 0), so a
    signature over any other call, wallet, nonce or deadline recovers to some other address.
    """
    if request.deadline <= now:
        raise VenueError(errors.RELAYER_EXPIRED_DEADLINE)
    if request.valid_until is not None and request.valid_until <= now:
        raise VenueError(errors.RELAYER_INVALID_PAYLOAD)
    digest = deposit_wallet_batch_digest(
        chain_id=chain_id,
        wallet=request.wallet,
        nonce=request.nonce,
        deadline=request.deadline,
        calls=[(request.wallet, 0, request.call_data)],
    )
    try:
        owner = recover_address(digest, request.signature)
    except SignatureError:
        raise VenueError(errors.RELAYER_INVALID_SIGNATURE) from None
    declared = registered_owner(request.wallet)
    if owner != declared and (declared is not None or request.wallet not in deposit_wallets(owner)):
        raise VenueError(errors.RELAYER_INVALID_SIGNATURE)
    return owner


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _decimal(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("bool")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    raise ValueError("not a whole number")


def signers_view(wallet: bytes, grants: list[SessionGrant]) -> Mapping[str, object]:
    """``GET /v1/user/session-signers``: what the SDK's fetch_session_keys parses."""
    return {"wallet": "0x" + wallet.hex(), "signers": [grant.view() for grant in grants]}
