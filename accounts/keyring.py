"""Secrets at rest: AES-256-GCM with a key id in every ciphertext and associated data.

Blob layout: ``b"PH2" | len(key_id) | key_id | nonce(12) | ciphertext+tag``. The associated
data binds the blob to its key id, its place (model, field, row code; a session key's also its
account) and its owner (the account's user id), so a ciphertext copied onto another row or
field, or a row moved to another user, fails authentication instead of decrypting as someone
else's key. Keys come from ENCRYPTION_KEYS (``id:base64,…``, first = current); the embedded
SQLite default uses a key file under var/ created on first use.

Rows (accounts and session keys) sealed before the owner was bound carry ``b"PH1"`` blobs
(``secrets_format`` 1): they still open, and ``keyring_rotate`` (``manage.py
rotate_encryption_keys``) re-seals them bound to their owner, like a row under an older key. A
PH1 blob on a row already re-sealed is refused.

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
from django.db.models import Q, QuerySet

from accounts.models import SessionKey, TradingAccount

MAGIC = b"PH2"  # associated data binds the owner
LEGACY_MAGIC = b"PH1"  # before: key id and place only
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

    def encrypt(self, plaintext: bytes, *, context: str, owner: str) -> bytes:
        kid = self.current_id.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._key(self.current_id)).encrypt(nonce, plaintext, _aad(kid, context, owner))
        return MAGIC + bytes([len(kid)]) + kid + nonce + sealed

    def decrypt(self, blob: bytes, *, context: str, owner: str, legacy_allowed: bool = False) -> bytes:
        kid = key_id_of(blob).encode()
        legacy = is_legacy(blob)
        if legacy and not legacy_allowed:
            raise DecryptionError(f"ciphertext for {context} is in the retired format on a re-sealed row")
        start = len(MAGIC) + 1 + len(kid)
        nonce, sealed = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
        aad = _legacy_aad(kid, context) if legacy else _aad(kid, context, owner)
        try:
            return AESGCM(self._key(kid.decode())).decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise DecryptionError(f"ciphertext does not authenticate for {context} of its owner") from None


def _aad(key_id: bytes, context: str, owner: str) -> bytes:
    return b"polyhunter-secret|v2|" + key_id + b"|" + context.encode() + b"|owner:" + owner.encode()


def _legacy_aad(key_id: bytes, context: str) -> bytes:
    return b"polyhunter-secret|v1|" + key_id + b"|" + context.encode()


def key_id_of(blob: bytes) -> str:
    blob = bytes(blob)
    if not blob.startswith((MAGIC, LEGACY_MAGIC)) or len(blob) < len(MAGIC) + 2:
        raise DecryptionError("not a PolyHunter keyring ciphertext")
    size = blob[len(MAGIC)]
    return blob[len(MAGIC) + 1 : len(MAGIC) + 1 + size].decode()


def is_legacy(blob: bytes) -> bool:
    """Sealed before the owner was bound (re-sealed by keyring_rotate)."""
    return bytes(blob).startswith(LEGACY_MAGIC)


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


Sealed = TradingAccount | SessionKey


def context_for(account: TradingAccount, field: str) -> str:
    if field not in SECRET_FIELDS:
        raise ValueError(f"{field} is not a secret field")
    return f"accounts.tradingaccount:{field}:{account.code}"


def session_context_for(session_key: SessionKey, field: str) -> str:
    """Bound to the session key's row and to its account: moved to another account, it fails."""
    if field not in SESSION_KEY_FIELDS:
        raise ValueError(f"{field} is not a session key secret field")
    return f"accounts.sessionkey:{field}:{session_key.code}:{session_key.account.code}"


def _context(row: Sealed, field: str) -> str:
    return context_for(row, field) if isinstance(row, TradingAccount) else session_context_for(row, field)


def _fields(row: Sealed) -> tuple[str, ...]:
    return SECRET_FIELDS if isinstance(row, TradingAccount) else SESSION_KEY_FIELDS


def _owner(row: Sealed) -> str:
    account = row if isinstance(row, TradingAccount) else row.account
    return str(account.user_id)


def seal_secret(*, account: TradingAccount, field: str, plaintext: bytes) -> None:
    """Encrypt into the in-memory row; the caller saves it (with the other custody changes)."""
    _seal(account, field, plaintext)


def open_secret(*, account: TradingAccount, field: str) -> bytes:
    return _open(account, field)


def seal_session_secret(*, session_key: SessionKey, field: str, plaintext: bytes) -> None:
    """``seal_secret`` for a session key row (its key and its CLOB API credentials)."""
    _seal(session_key, field, plaintext)


def open_session_secret(*, session_key: SessionKey, field: str) -> bytes:
    return _open(session_key, field)


def _seal(row: Sealed, field: str, plaintext: bytes) -> None:
    keyring = get_keyring()
    setattr(row, field, keyring.encrypt(plaintext, context=_context(row, field), owner=_owner(row)))
    # The row records one key id and one format for all its blobs (the rotation relies on it),
    # so a blob under an older key or format is re-sealed before a new one is added next to it.
    for name in _fields(row):
        _reseal(row, name, keyring)
    row.secrets_key_id = keyring.current_id
    row.secrets_format = TradingAccount.SECRETS_FORMAT


def _open(row: Sealed, field: str) -> bytes:
    blob = getattr(row, field)
    if blob is None:
        raise DecryptionError(f"{field} is not set for {row._meta.model_name} {row.code}")
    return get_keyring().decrypt(
        bytes(blob),
        context=_context(row, field),
        owner=_owner(row),
        legacy_allowed=row.secrets_format < TradingAccount.SECRETS_FORMAT,
    )


def _reseal(row: Sealed, field: str, keyring: Keyring) -> bool:
    blob = getattr(row, field)
    if blob is None or (key_id_of(blob) == keyring.current_id and not is_legacy(blob)):
        return False
    plaintext = _open(row, field)
    setattr(row, field, keyring.encrypt(plaintext, context=_context(row, field), owner=_owner(row)))
    return True


def _pending(model: type[Sealed], keyring: Keyring) -> QuerySet[Sealed]:
    """Rows with secrets under an older key, or sealed before the owner was bound."""
    stale = ~Q(secrets_key_id=keyring.current_id) | Q(secrets_format__lt=TradingAccount.SECRETS_FORMAT)
    rows: QuerySet[Sealed] = model.objects.exclude(secrets_key_id="").filter(stale)
    return rows


@dataclass(frozen=True)
class RotationResult:
    rotated: int
    remaining: int


def keyring_rotate(*, limit: int | None = None, progress: Callable[[int, int], None] | None = None) -> RotationResult:
    """Re-encrypt every row (accounts, then session keys) still under an older key, or in the
    format that did not bind the owner, with the current key and format.

    Each row is re-sealed in its own short transaction under a row lock, so the job can be
    killed at any point and rerun: finished rows are skipped, an unfinished row is untouched.
    """
    keyring = get_keyring()
    models: tuple[type[Sealed], ...] = (TradingAccount, SessionKey)
    total = sum(_pending(model, keyring).count() for model in models)
    rotated = 0
    for model in models:
        left = None if limit is None else limit - rotated
        for row_id in list(_pending(model, keyring).order_by("id").values_list("id", flat=True)[:left]):
            with transaction.atomic():
                row = model.objects.select_for_update().get(id=row_id)
                changed = [name for name in _fields(row) if _reseal(row, name, keyring)]
                row.secrets_key_id = keyring.current_id
                row.secrets_format = TradingAccount.SECRETS_FORMAT
                row.save(update_fields=[*changed, "secrets_key_id", "secrets_format", "updated_at"])
            rotated += 1
            if progress is not None:
                progress(rotated, total)
    return RotationResult(rotated=rotated, remaining=sum(_pending(model, keyring).count() for model in models))
