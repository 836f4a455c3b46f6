"""CLOB authentication: L2 HMAC headers (every trading/account call) and L1 headers (API keys).

Both use the SDK's own primitives (``build_hmac_signature``, ``sign_api_key_auth``,
``build_l1_auth_headers``). ``ApiCredentials`` never shows its secret or passphrase in a repr,
and nothing here stores credentials: callers build them inside the function that sends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from polymarket._internal.actions.auth import build_l1_auth_headers
from polymarket._internal.hmac import build_hmac_signature
from polymarket._internal.l1_auth import sign_api_key_auth

from accounts.keyring import DecryptionError, open_secret, open_session_secret
from accounts.models import SessionKey, TradingAccount
from execution.venue.errors import SigningFailed


@dataclass(frozen=True, repr=False)
class ApiCredentials:
    """A follower's CLOB L2 credentials. ``key`` is an identifier; ``secret``/``passphrase`` are secrets."""

    key: str
    secret: str
    passphrase: str

    def __repr__(self) -> str:
        return "ApiCredentials(key=<hidden>, secret=<hidden>, passphrase=<hidden>)"

    def to_json_bytes(self) -> bytes:
        """The plaintext the keyring seals in ``api_credentials_ciphertext``."""
        return json.dumps({"key": self.key, "secret": self.secret, "passphrase": self.passphrase}).encode()

    @classmethod
    def from_json_bytes(cls, raw: bytes) -> ApiCredentials:
        try:
            data = json.loads(raw)
            creds = cls(key=data["key"], secret=data["secret"], passphrase=data["passphrase"])
        except (ValueError, KeyError, TypeError):
            raise SigningFailed("stored API credentials are not {key, secret, passphrase} JSON") from None
        if not all(isinstance(v, str) and v for v in (creds.key, creds.secret, creds.passphrase)):
            raise SigningFailed("stored API credentials have an empty or non-string field")
        return creds


def open_api_credentials(*, account: TradingAccount) -> ApiCredentials:
    """Decrypt an account's API credentials. Call only inside the function that sends, and drop them.

    A session account's are its current session signer's (that signer owns the API key).
    """
    try:
        if account.mode == TradingAccount.Mode.SESSION:
            raw = _current_session_credentials(account)
        else:
            raw = open_secret(account=account, field="api_credentials_ciphertext")
    except Exception as exc:  # the keyring's own errors name the field and row, never the plaintext
        raise SigningFailed(f"API credentials of account {account.code} cannot be opened: {exc}") from None
    return ApiCredentials.from_json_bytes(raw)


def _current_session_credentials(account: TradingAccount) -> bytes:
    key = SessionKey.objects.filter(account=account, state=SessionKey.State.CURRENT).first()
    if key is None:
        raise DecryptionError(f"account {account.code} has no current session signer")
    key.account = account
    return open_session_secret(session_key=key, field="api_credentials_ciphertext")


def l2_headers(
    *, creds: ApiCredentials, address: str, method: str, path: str, body: str | None, timestamp: int
) -> dict[str, str]:
    """POLY_* L2 headers over the exact body text sent; ``path`` excludes the query string.

    ``timestamp``: the venue's unix seconds (execution.venue.clock), never this host's clock: the
    venue refuses a timestamp more than 30 s off its own."""
    ts = timestamp
    signature = build_hmac_signature(secret=creds.secret, timestamp=ts, method=method, path=path, body=body)
    return {
        "POLY_ADDRESS": address,
        "POLY_API_KEY": creds.key,
        "POLY_PASSPHRASE": creds.passphrase,
        "POLY_SIGNATURE": signature,
        "POLY_TIMESTAMP": str(ts),
    }


def l1_headers(*, signer: LocalAccount, chain_id: int, timestamp: int, nonce: int = 0) -> dict[str, str]:
    """POLY_* L1 headers (ClobAuth EIP-712 signature) for ``/auth/api-key`` and ``/auth/derive-api-key``;
    ``timestamp`` is the venue's unix seconds, as for L2."""
    return build_l1_auth_headers(sign_api_key_auth(signer, chain_id=chain_id, timestamp=timestamp, nonce=nonce))
