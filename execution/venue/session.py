"""Deposit-wallet session keys (reference polymarket.md §4.3): derivation, signing, the registry read.

A follower's deposit wallet (signature type 3, POLY_1271, an ERC-1271 smart wallet) is a
CREATE2 address of its owner EOA; the owner may authorise another EOA, a *session signer*, to
sign CLOB orders for it until an expiry. PolyHunter holds one such key per follower account.
Orders are type 3 with ``maker == signer == the deposit wallet``; the session key signs the
SDK's ERC-7739 ``TypedDataSign`` wrapper and the result is wrapped once more as
``abi.encode(bytes32(session signer), bytes32(0), sig) || 0x6492…`` — all done by
polymarket-client's own functions (``signing.sign_for_wallet``), never re-derived here.

The SDK's trap (reference polymarket-client.md §9.2): any wallet that is not one of the signer's
CREATE2 wallets is silently treated as a session-key deposit wallet. Here the deposit wallet is
always checked against the *owner* it was derived from before anything is signed, and the
session key is given to the SDK only for that wallet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from polymarket._internal.environment import EnvironmentConfig
from polymarket._internal.wallet import (
    derive_beacon_deposit_wallet_address,
    derive_uups_deposit_wallet_address,
    signature_type_for,
)

from execution.venue.amounts import validate_order
from execution.venue.errors import SigningFailed, UnexpectedAnswer, WalletMismatch
from execution.venue.orders import MarketInfo, OrderRequest
from execution.venue.payload import SignedOrderPayload
from execution.venue.signing import WalletKind, sign_for_wallet
from polyhunter.lib.addresses import InvalidAddress, normalize_address

CLOB_SCOPE = "CLOB"
ALL_SCOPE = "ALL"
REGISTRY_PATH = "/v1/user/session-signers"


@dataclass(frozen=True)
class DepositWallets:
    """An owner's deposit wallets: ``current`` (the beacon factory's, every account since May
    2026) and ``legacy`` (the older UUPS implementation). Lower-case, as stored."""

    owner: str
    current: str
    legacy: str

    def __contains__(self, wallet: str) -> bool:
        return wallet.lower() in (self.current, self.legacy)


def deposit_wallets_of(*, owner: str, config: EnvironmentConfig) -> DepositWallets:
    """The CREATE2 deposit wallets of an owner EOA (raises InvalidAddress for a malformed one)."""
    checksummed = to_checksum_address(normalize_address(owner))
    derivation = config.wallet_derivation
    return DepositWallets(
        owner=checksummed.lower(),
        current=derive_beacon_deposit_wallet_address(checksummed, derivation).lower(),
        legacy=derive_uups_deposit_wallet_address(checksummed, derivation).lower(),
    )


def deposit_wallet_check(*, owner: str, wallet: str, config: EnvironmentConfig) -> WalletKind:
    """``wallet`` as the type-3 maker of ``owner``'s orders; WalletMismatch unless it is one of
    the owner's deposit wallets (so a session key is never pointed at an arbitrary address)."""
    try:
        wallets = deposit_wallets_of(owner=owner, config=config)
        funder = to_checksum_address(normalize_address(wallet))
    except InvalidAddress as exc:
        raise WalletMismatch(str(exc)) from None
    if funder not in wallets:
        raise WalletMismatch(f"{funder} is not a deposit wallet of owner {wallets.owner}")
    return WalletKind(
        wallet_type="DEPOSIT_WALLET",
        signature_type=signature_type_for("DEPOSIT_WALLET"),
        signer=funder,
        funder=funder,
    )


def session_key_create() -> LocalAccount:
    """A fresh session signer (os.urandom through eth_account). The caller seals ``.key`` at once."""
    created: LocalAccount = Account.create()
    return created


def session_order_sign(
    *,
    session_key: str,
    owner: str,
    wallet: str,
    api_key: str,
    request: OrderRequest,
    market: MarketInfo,
    config: EnvironmentConfig,
) -> SignedOrderPayload:
    """A type-3 order for ``wallet`` signed by the session key, POSTed as the session signer
    (its L2 API key, POLY_ADDRESS = the session signer). Nothing here checks the authorisation:
    the caller (execution.session_custody) refuses an account whose grant is not current.
    """
    amounts = validate_order(request=request, market=market)
    kind = deposit_wallet_check(owner=owner, wallet=wallet, config=config)
    try:
        signer = Account.from_key(session_key)
    except Exception:
        raise SigningFailed("the session key is not a valid secp256k1 key") from None
    return sign_for_wallet(
        signer,
        kind=kind,
        signer_type="SESSION_KEY",
        amounts=amounts,
        api_key=api_key,
        request=request,
        market=market,
        config=config,
    )


@dataclass(frozen=True)
class SessionGrant:
    """One authorised session signer of a wallet, as the registry lists it."""

    signer: str
    scopes: tuple[str, ...]
    valid_until: datetime

    def covers(self, scope: str) -> bool:
        return scope in self.scopes or ALL_SCOPE in self.scopes


@dataclass(frozen=True)
class SessionRegistry:
    """``GET /v1/user/session-signers``: the wallet behind the API key and its active signers."""

    wallet: str
    grants: tuple[SessionGrant, ...]

    def grant_for(self, signer: str) -> SessionGrant | None:
        for grant in self.grants:
            if grant.signer == signer.lower():
                return grant
        return None


def parse_session_registry(body: object) -> SessionRegistry:
    """The registry answer (shape of polymarket-client's ``_FetchSessionKeysResponse``)."""
    if not isinstance(body, dict) or not isinstance(body.get("signers"), list):
        raise UnexpectedAnswer(f"{REGISTRY_PATH} answer is not {{wallet, signers}}")
    try:
        wallet = normalize_address(str(body["wallet"]))
        grants = tuple(_grant(item) for item in body["signers"])
    except (InvalidAddress, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise UnexpectedAnswer(f"{REGISTRY_PATH} answer does not parse: {exc}") from None
    return SessionRegistry(wallet=wallet, grants=grants)


def _grant(item: object) -> SessionGrant:
    if not isinstance(item, dict):
        raise TypeError("a signer is not an object")
    scopes = item["scopes"]
    until = item["valid_until"]
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s for s in scopes):
        raise ValueError("scopes must be a non-empty list of strings")
    if isinstance(until, bool) or not isinstance(until, int) or until < 0:
        raise ValueError("valid_until must be unix seconds")
    return SessionGrant(
        signer=normalize_address(str(item["address"])),
        scopes=tuple(s.upper() for s in scopes),
        valid_until=datetime.fromtimestamp(until, tz=UTC),
    )
