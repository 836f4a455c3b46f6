"""Custody setup helpers (called from the custody setup page, before anything is sealed).

``custody_derive`` turns a pasted private key (and optional API credentials) into what the
account stores: the signer address and the CLOB L2 credentials, deriving the latter through L1
auth when they are not supplied (``POST /auth/api-key``; on HTTP 400, i.e. a key already exists
for this nonce, ``GET /auth/derive-api-key``). ``custody_check_wallet`` validates the funder
against the signer's CREATE2 wallets so a mistyped proxy address is refused, not signed.

The caller seals ``credentials.to_json_bytes()`` and the key with accounts.keyring and drops the
plaintexts; nothing here keeps them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

import httpx
from eth_account import Account
from polymarket._internal.actions.auth import parse_api_key_creds
from polymarket.errors import PolymarketError

from execution.venue.auth import ApiCredentials, l1_headers
from execution.venue.clock import measure_offset, parse_server_time
from execution.venue.environment import VenueSettings, configured_sdk_config
from execution.venue.errors import SigningFailed, UnexpectedAnswer, VenueRefused, VenueUnavailable
from execution.venue.signing import WalletKind, wallet_classify
from execution.venue.transport import HttpAnswer, send, shared_client

_CREATE_PATH = "/auth/api-key"
_DERIVE_PATH = "/auth/derive-api-key"


@dataclass(frozen=True, repr=False)
class CustodyMaterial:
    """``derived`` is True when the credentials were obtained from the venue just now."""

    signer_address: str
    credentials: ApiCredentials
    derived: bool

    def __repr__(self) -> str:
        return f"CustodyMaterial(signer_address={self.signer_address!r}, credentials=<hidden>, derived={self.derived})"


def custody_derive(
    *,
    private_key: str,
    credentials: ApiCredentials | None = None,
    nonce: int = 0,
    venue: VenueSettings | None = None,
    client: httpx.Client | None = None,
) -> CustodyMaterial:
    """Signer address of ``private_key``; the given credentials, or ones created/derived by L1 auth.

    Raises SigningFailed (not a key), NotSent/AnswerLost (venue unreachable), VenueRefused (the
    venue refused both create and derive, e.g. a clock too far off), VenueUnavailable (5xx/429).
    """
    try:
        signer = Account.from_key(private_key.strip())
    except Exception:
        raise SigningFailed("this is not a valid secp256k1 private key") from None
    if credentials is not None:
        return CustodyMaterial(signer_address=signer.address, credentials=credentials, derived=False)
    venue = venue or VenueSettings.from_settings()
    http = client or shared_client(connect_timeout=venue.connect_timeout, read_timeout=venue.read_timeout)
    headers = l1_headers(
        signer=signer, chain_id=venue.chain_id, nonce=nonce, timestamp=_venue_seconds(http, venue.clob_url)
    )
    answer = send(http, "POST", venue.clob_url + _CREATE_PATH, headers=headers)
    if answer.status == 400:
        answer = send(http, "GET", venue.clob_url + _DERIVE_PATH, headers=headers)
    return CustodyMaterial(signer_address=signer.address, credentials=_credentials(answer), derived=True)


def custody_check_wallet(
    *, signer_address: str, funder_address: str, declared_signature_type: int | None = None
) -> WalletKind:
    """The funder's wallet type for this signer (0 EOA, 1 proxy, 2 Safe, 3 deposit wallet).

    Raises WalletMismatch when the funder is none of the signer's wallets or not the declared type.
    """
    return wallet_classify(
        signer=signer_address,
        funder=funder_address,
        config=configured_sdk_config(),
        declared_signature_type=declared_signature_type,
    )


def _venue_seconds(http: httpx.Client, clob_url: str) -> int:
    """Venue time, measured for this one request (account setup is rare): a host clock off by more
    than the venue's 30 s window would have both create and derive refused."""

    def read_time() -> Decimal:
        answer = send(http, "GET", clob_url + "/time")
        if not 200 <= answer.status < 300:
            raise VenueUnavailable(f"GET /time: HTTP {answer.status}")
        return parse_server_time(answer.body)

    return int(time.time() + measure_offset(read_time).offset_seconds)


def _credentials(answer: HttpAnswer) -> ApiCredentials:
    if answer.status in (425, 429) or answer.status >= 500:
        raise VenueUnavailable(f"API key request: HTTP {answer.status}")
    if not 200 <= answer.status < 300:
        error = answer.body.get("error") if isinstance(answer.body, dict) else None
        message = error if isinstance(error, str) else ""
        raise VenueRefused(
            f"the venue refused the API key request: HTTP {answer.status} {message}",
            status=answer.status,
            message=message,
        )
    try:
        creds = parse_api_key_creds(answer.body)
    except PolymarketError:
        raise UnexpectedAnswer("API key answer is not {apiKey, secret, passphrase}") from None
    return ApiCredentials(key=creds.key, secret=creds.secret, passphrase=creds.passphrase)
