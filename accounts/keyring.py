"""Secrets at rest: AES-256-GCM with a key id in every ciphertext and associated data.

Blob layout: ``b"PH1" | len(key_id) | key_id | nonce(12) | ciphertext+tag``. The associated
data binds the blob to its key id and to its place (model, field, row code), so a ciphertext
copied onto another row or field fails authentication instead of decrypting as someone else's
key. Keys come from ENCRYPTION_KEYS (``id:base64,…``, first = current); the embedded SQLite
default uses a key file under var/ created on first use.

Plaintexts never leave the functions that need them: callers get bytes back from ``open_secret``
inside the signing or auth code and let them go out of scope right after.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from accounts.models import SessionKey, TradingAccount

MAGIC = b"PH1"
NONCE_BYTES = 12
SECRET_FIELDS = ("private_key_ciphertext", "api_credentials_ciphertext")
SESSION_KEY_FIELDS = ("key_ciphertext", "api_credentials_ciphertext")


class DecryptionError(Exception):
    """The blob is corrupt, was moved to another row/field, or its key is not configured."""


@dataclass(frozen=True)
class Keyring:
    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ImproperlyConfigured("ENCRYPTION_KEYS: no key configured")

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def _key(self, key_id: str) -> bytes:
        for kid, material in self.keys:
            if kid == key_id:
                return material
        raise DecryptionError(f"ciphertext was made with key {key_id!r}, which is not in ENCRYPTION_KEYS")

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        kid = self.current_id.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._key(self.current_id)).encrypt(nonce, plaintext, _aad(kid, context))
        return MAGIC + bytes([len(kid)]) + kid + nonce + sealed

    def decrypt(self, blob: bytes, *, context: str) -> bytes:
        kid = key_id_of(blob).encode()
        start = len(MAGIC) + 1 + len(kid)
        nonce, sealed = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
        try:
            return AESGCM(self._key(kid.decode())).decrypt(nonce, sealed, _aad(kid, context))
        except InvalidTag:
            raise DecryptionError(f"ciphertext does not authenticate for {context}") from None


def _aad(key_id: bytes, context: str) -> bytes:
    return b"polyhunter-secret|v1|" + key_id + b"|" + context.encode()


def key_id_of(blob: bytes) -> str:
    blob = bytes(blob)
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 2:
        raise DecryptionError("not a PolyHunter keyring ciphertext")
    size = blob[len(MAGIC)]
    return blob[len(MAGIC) + 1 : len(MAGIC) + 1 + size].decode()


@lru_cache(maxsize=1)
def _configured(keys: tuple[tuple[str, bytes], ...]) -> Keyring:
    return Keyring(keys)


def get_keyring() -> Keyring:
    keys = tuple(settings.ENCRYPTION_KEYS)
    if not keys:
        if not settings.EMBEDDED:
            raise ImproperlyConfigured("ENCRYPTION_KEYS: required outside the embedded SQLite mode")
        keys = (("local", _embedded_key()),)
    return _configured(keys)


def _embedded_key() -> bytes:
    path = settings.ENCRYPTION_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)))
    return base64.b64decode(path.read_bytes())


def context_for(account: TradingAccount, field: str) -> str:
    if field not in SECRET_FIELDS:
        raise ValueError(f"{field} is not a secret field")
    return f"accounts.tradingaccount:{field}:{account.code}"


def seal_secret(*, account: TradingAccount, field: str, plaintext: bytes) -> None:
    """Encrypt into the in-memory row; the caller saves it (with the other custody changes)."""
    keyring = get_keyring()
    setattr(account, field, keyring.encrypt(plaintext, context=context_for(account, field)))
    _require_single_key_id(account, keyring.current_id)
    account.secrets_key_id = keyring.current_id


def _require_single_key_id(account: TradingAccount, current: str) -> None:
    # The row records one key id for all its blobs (the rotation index relies on it), so a
    # blob under an older key must be re-sealed before a new one is added next to it.
    for name in SECRET_FIELDS:
        blob = getattr(account, name)
        if blob is not None and key_id_of(blob) != current:
            _reseal(account, name, get_keyring())


def open_secret(*, account: TradingAccount, field: str) -> bytes:
    blob = getattr(account, field)
    if blob is None:
        raise DecryptionError(f"{field} is not set for account {account.code}")
    return get_keyring().decrypt(bytes(blob), context=context_for(account, field))


def session_context_for(session_key: SessionKey, field: str) -> str:
    """Bound to the session key's row and to its account: moved to another account, it fails."""
    if field not in SESSION_KEY_FIELDS:
        raise ValueError(f"{field} is not a session key secret field")
    return f"accounts.sessionkey:{field}:{session_key.code}:{session_key.account.code}"


def seal_session_secret(*, session_key: SessionKey, field: str, plaintext: bytes) -> None:
    """``seal_secret`` for a session key row (its key and its CLOB API credentials)."""
    keyring = get_keyring()
    setattr(session_key, field, keyring.encrypt(plaintext, context=session_context_for(session_key, field)))
    for name in SESSION_KEY_FIELDS:
        blob = getattr(session_key, name)
        if name != field and blob is not None and key_id_of(blob) != keyring.current_id:
            _reseal(session_key, name, keyring)
    session_key.secrets_key_id = keyring.current_id


def open_session_secret(*, session_key: SessionKey, field: str) -> bytes:
    blob = getattr(session_key, field)
    if blob is None:
        raise DecryptionError(f"{field} is not set for session key {session_key.code}")
    return get_keyring().decrypt(bytes(blob), context=session_context_for(session_key, field))


def _context(row: TradingAccount | SessionKey, field: str) -> str:
    return context_for(row, field) if isinstance(row, TradingAccount) else session_context_for(row, field)


def _reseal(row: TradingAccount | SessionKey, field: str, keyring: Keyring) -> bool:
    blob = getattr(row, field)
    if blob is None or key_id_of(blob) == keyring.current_id:
        return False
    context = _context(row, field)
    setattr(row, field, keyring.encrypt(keyring.decrypt(bytes(blob), context=context), context=context))
    return True


@dataclass(frozen=True)
class RotationResult:
    rotated: int
    remaining: int


def keyring_rotate(*, limit: int | None = None, progress: Callable[[int, int], None] | None = None) -> RotationResult:
    """Re-encrypt every row still under an older key with the current key (accounts, then
    session keys).

    Each row is re-sealed in its own short transaction under a row lock, so the job can be
    killed at any point and rerun: finished rows are skipped, an unfinished row is untouched.
    """
    keyring = get_keyring()
    old = ["", keyring.current_id]
    tables: list[tuple[type[TradingAccount] | type[SessionKey], tuple[str, ...]]] = [
        (TradingAccount, SECRET_FIELDS),
        (SessionKey, SESSION_KEY_FIELDS),
    ]
    total = sum(model.objects.exclude(secrets_key_id__in=old).count() for model, _ in tables)
    rotated = 0
    for model, fields in tables:
        left = None if limit is None else limit - rotated
        pending = model.objects.exclude(secrets_key_id__in=old)
        for row_id in list(pending.order_by("id").values_list("id", flat=True)[:left]):
            with transaction.atomic():
                row = model.objects.select_for_update().get(id=row_id)
                changed = [name for name in fields if _reseal(row, name, keyring)]
                row.secrets_key_id = keyring.current_id
                row.save(update_fields=[*changed, "secrets_key_id", "updated_at"])
            rotated += 1
            if progress is not None:
                progress(rotated, total)
    remaining = sum(model.objects.exclude(secrets_key_id__in=old).count() for model, _ in tables)
    return RotationResult(rotated=rotated, remaining=remaining)
