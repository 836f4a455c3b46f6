"""API keys (L1 creation, L2 HMAC) and the pUSD/share ledger."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import errors
from .crypto import (
    SignatureError,
    address_bytes,
    clob_auth_digest,
    decode_secret,
    hex_address,
    l2_signature,
    recover_address,
)
from .errors import VenueError
from .models import ApiCredentials


@dataclass(slots=True)
class _KeyRecord:
    credentials: ApiCredentials
    secret_key: bytes
    active: bool = False
    revoked: bool = False


class ApiKeys:
    """Deterministic credentials per (signer, nonce), so a restarted simulator derives the same ones.

    A deleted key is gone for good: creating a key again for the same (signer, nonce) gives a new
    key, secret and passphrase (the next generation), never the deleted ones.
    """

    def __init__(self, *, seed: bytes, chain_id: int, window_s: int) -> None:
        self._seed = seed
        self.chain_id = chain_id
        self.window_s = window_s
        self._by_key: dict[str, _KeyRecord] = {}
        self._generations: dict[tuple[str, int], int] = {}

    def _derive(self, address: str, nonce: int) -> _KeyRecord:
        generation = self._generations.get((address, nonce), 0)
        label = f"{address}:{nonce}" if generation == 0 else f"{address}:{nonce}:{generation}"
        material = hmac.new(self._seed, label.encode(), hashlib.sha256).digest()
        key = str(uuid.UUID(bytes=material[:16], version=4))
        record = self._by_key.get(key)
        if record is None:
            secret = base64.urlsafe_b64encode(hmac.new(self._seed, b"secret:" + material, hashlib.sha256).digest())
            passphrase = hmac.new(self._seed, b"passphrase:" + material, hashlib.sha256).hexdigest()
            credentials = ApiCredentials(key, secret.decode(), passphrase, address, nonce)
            record = _KeyRecord(credentials, decode_secret(credentials.secret))
            self._by_key[key] = record
        return record

    def issue(self, address: str, nonce: int = 0) -> ApiCredentials:
        """Create (or return the already created) key of a signer, bypassing L1: for tests and demos."""
        record = self._derive(address.lower(), nonce)
        record.active = True
        return record.credentials

    def create(self, headers: Mapping[str, str], now: float) -> ApiCredentials:
        address, nonce = self._verify_l1(headers, now)
        record = self._derive(address, nonce)
        if record.active:
            raise VenueError(errors.COULD_NOT_CREATE_API_KEY)
        record.active = True
        return record.credentials

    def derive(self, headers: Mapping[str, str], now: float) -> ApiCredentials:
        address, nonce = self._verify_l1(headers, now)
        record = self._derive(address, nonce)
        if not record.active:
            raise VenueError(errors.COULD_NOT_DERIVE_API_KEY)
        return record.credentials

    def keys_of(self, address: str) -> list[str]:
        return sorted(r.credentials.key for r in self._by_key.values() if r.active and r.credentials.address == address)

    def revoke(self, key: str) -> None:
        record = self._by_key.get(key)
        if record is not None and not record.revoked:
            record.active = False
            record.revoked = True
            slot = (record.credentials.address, record.credentials.nonce)
            self._generations[slot] = self._generations.get(slot, 0) + 1

    def _verify_l1(self, headers: Mapping[str, str], now: float) -> tuple[str, int]:
        refused = VenueError(errors.INVALID_L1_HEADERS, 401)
        address = headers.get("POLY_ADDRESS", "")
        signature = headers.get("POLY_SIGNATURE", "")
        timestamp = headers.get("POLY_TIMESTAMP", "")
        nonce_text = headers.get("POLY_NONCE", "0") or "0"
        if not (timestamp.isdecimal() and nonce_text.isdecimal()):
            raise refused
        if abs(now - int(timestamp)) > self.window_s:
            raise refused
        try:
            raw_address = address_bytes(address)
            raw_signature = bytes.fromhex(signature.removeprefix("0x"))
            digest = clob_auth_digest(
                chain_id=self.chain_id, address=raw_address, timestamp=timestamp, nonce=int(nonce_text)
            )
            recovered = recover_address(digest, raw_signature)
        except (ValueError, SignatureError):
            raise refused from None
        if recovered != raw_address:
            raise refused
        return hex_address(raw_address), int(nonce_text)

    def authenticate(
        self, headers: Mapping[str, str], *, method: str, path: str, body: bytes, now: float
    ) -> ApiCredentials:
        """The key behind valid L2 headers; 401 for anything missing, stale, foreign or forged."""
        refused = VenueError(errors.UNAUTHORIZED, 401)
        record = self._by_key.get(headers.get("POLY_API_KEY", ""))
        if record is None or not record.active:
            raise refused
        credentials = record.credentials
        if headers.get("POLY_PASSPHRASE") != credentials.passphrase:
            raise refused
        if headers.get("POLY_ADDRESS", "").lower() != credentials.address:
            raise refused
        timestamp = headers.get("POLY_TIMESTAMP", "")
        if not timestamp.isdecimal() or abs(now - int(timestamp)) > self.window_s:
            raise refused
        expected = l2_signature(record.secret_key, timestamp, method, path, body)
        if not hmac.compare_digest(expected, headers.get("POLY_SIGNATURE", "")):
            raise refused
        return credentials


@dataclass(slots=True)
class Account:
    pusd: int = 0
    shares: dict[str, int] = field(default_factory=dict)
    approved: bool = True
    # None, "banned", "closed_only" (no new BUYs) or "deposit_wallet_flow" (types 0-2 refused).
    restriction: str | None = None


class Ledger:
    """Balances per wallet (lower-case address); the house wallet is unbounded and never moves."""

    def __init__(self, house: str) -> None:
        self.house = house.lower()
        self._accounts: dict[str, Account] = {}
        self.fees_collected = 0

    def account(self, address: str) -> Account:
        account = self._accounts.get(address)
        if account is None:
            account = self._accounts[address] = Account()
        return account

    def known(self) -> dict[str, Account]:
        return self._accounts

    def move_pusd(self, address: str, delta: int) -> None:
        if address != self.house:
            self.account(address).pusd += delta

    def move_shares(self, address: str, token_id: str, delta: int) -> None:
        if address != self.house:
            shares = self.account(address).shares
            shares[token_id] = shares.get(token_id, 0) + delta

    def reset(self) -> None:
        self._accounts.clear()
        self.fees_collected = 0
