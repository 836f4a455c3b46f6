"""Build and sign orders offline with the SDK's pure functions ("route B"), never a client.

No network call happens here: market facts come in as a ``MarketInfo`` the caller fetched
beforehand (quotes.MarketCache). The signing key is decrypted inside ``order_sign`` and lives
only in its frame; it is never stored, cached, logged or put in an exception.

Per order: validate (amounts.validate_order) -> check the funder against the signer's
CREATE2-derived wallets -> draft -> ``create_unsigned_order`` (CSPRNG salt, ms timestamp) ->
sign the SDK's typed data -> serialise the POST body -> our own EIP-712 hash of that body.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from coincurve import PrivateKey as CoincurveKey
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from polymarket._internal.actions.orders.context import resolve_order_exchange_address
from polymarket._internal.actions.orders.orders import create_signed_order, create_unsigned_order
from polymarket._internal.actions.orders.typed_data import build_order_signature, build_order_typed_data
from polymarket._internal.actions.orders.types import OrderDraft, UnsignedOrder
from polymarket._internal.environment import EnvironmentConfig, WalletDerivationConfig
from polymarket._internal.protocol import is_v2_position_id
from polymarket._internal.wallet import (
    SignerType,
    WalletType,
    signature_type_for,
    try_classify_wallet_type,
    wrap_deposit_wallet_signature,
)
from polymarket.errors import PolymarketError
from polymarket.models.types import TokenId
from polymarket.types import EvmAddress, HexString

from accounts.keyring import open_secret
from accounts.models import TradingAccount
from execution.venue.amounts import OrderAmounts, validate_order
from execution.venue.auth import open_api_credentials
from execution.venue.environment import configured_sdk_config
from execution.venue.errors import SigningFailed, WalletMismatch
from execution.venue.hashing import order_hash
from execution.venue.orders import MarketInfo, OrderRequest
from execution.venue.payload import SignedOrderPayload, payload_from_signed_order
from polyhunter.lib.addresses import InvalidAddress, normalize_address

DEPOSIT_WALLET_SIGNATURE_TYPE = 3


@dataclass(frozen=True)
class WalletKind:
    """What a funder is to a signer; addresses checksummed as they go into the order."""

    wallet_type: WalletType
    signature_type: int
    signer: str
    funder: str


def wallet_classify(
    *, signer: str, funder: str, config: EnvironmentConfig, declared_signature_type: int | None = None
) -> WalletKind:
    """Which wallet ``funder`` is for ``signer``: the EOA itself (0), its proxy (1), Safe (2) or
    deposit wallet (3), by CREATE2 derivation. Raises WalletMismatch for any other address, and
    when ``declared_signature_type`` disagrees with what the addresses prove.
    """
    try:
        kind = _classify(signer, funder, config.wallet_derivation)
    except InvalidAddress as exc:
        raise WalletMismatch(str(exc)) from None
    if kind is None:
        raise WalletMismatch(f"funder {funder} is not the EOA, proxy, Safe or deposit wallet of signer {signer}")
    if declared_signature_type is not None and declared_signature_type != kind.signature_type:
        raise WalletMismatch(
            f"funder {kind.funder} is the signer's {kind.wallet_type} (signature type {kind.signature_type}), "
            f"but the account declares signature type {declared_signature_type}"
        )
    return kind


@lru_cache(maxsize=4096)
def _classify(signer: str, funder: str, derivation: WalletDerivationConfig) -> WalletKind | None:
    # Addresses are public; caching the checksums and CREATE2 derivations saves ~0.15 ms per order.
    # normalize_address refuses a mixed-case address with a wrong EIP-55 checksum (a typo).
    signer_address = to_checksum_address(normalize_address(signer))
    funder_address = to_checksum_address(normalize_address(funder))
    wallet_type = try_classify_wallet_type(signer=signer_address, wallet=funder_address, config=derivation)
    if wallet_type is None:
        return None
    return WalletKind(
        wallet_type=wallet_type,
        signature_type=signature_type_for(wallet_type),
        signer=signer_address,
        funder=funder_address,
    )


def exchange_for(*, token_id: str, neg_risk: bool, config: EnvironmentConfig) -> tuple[str, str]:
    """(verifying contract, EIP-712 domain version) for a token: ExchangeV3/"3" for protocol-V2
    position ids, else NegRiskCtfExchangeV2 or CTFExchangeV2 with "2".
    """
    exchange = resolve_order_exchange_address(config, asset_id=token_id, neg_risk=neg_risk)
    return str(exchange), "3" if is_v2_position_id(token_id) else "2"


def sign_unsigned_order(
    *, unsigned: UnsignedOrder, signer: LocalAccount, digest: bytes | None = None, signer_type: SignerType = "OWNER"
) -> HexString:
    """The SDK's signature for an unsigned order: 65 bytes for types 0-2; for a deposit wallet
    (type 3) the ERC-7739 wrapped signature with the 1271 trailer, and with ``signer_type``
    "SESSION_KEY" that wrapped again as ``abi.encode(signer, 0, sig) || 0x6492…`` (docs/custody.md).

    Types 0-2 sign the EIP-712 digest of the plain Order directly (``order_digest``, or the one
    given): the same 65 bytes as ``sign_typed_data`` over ``build_order_typed_data`` (the test
    vectors check it), without eth_account's generic typed-data encoder, which was most of the
    signing time (docs/performance.md). Type 3 signs the SDK's TypedDataSign wrapper as before.
    """
    if unsigned.signature_type == DEPOSIT_WALLET_SIGNATURE_TYPE:
        raw = signer.sign_typed_data(full_message=build_order_typed_data(unsigned)).signature.hex()
    else:
        raw = digest_sign(key=bytes(signer.key), digest=digest or order_digest(unsigned)).hex()
    signature = HexString(raw if raw.startswith("0x") else "0x" + raw)
    wrapped = build_order_signature(unsigned, signature)
    return wrap_deposit_wallet_signature(signer=signer.address, signer_type=signer_type, signature=wrapped)


def digest_sign(*, key: bytes, digest: bytes) -> bytes:
    """r || s || v (v = 27 + recovery id) over a 32-byte digest: what ``unsafe_sign_hash`` returns
    (RFC 6979, low s), signed by libsecp256k1 directly. eth_account's path to the same call (its
    key objects, ``combomethod`` wrappers, the signature object) cost ~200 µs of the ~290 µs per
    order here (docs/performance.md); the test vectors check that the bytes are the same."""
    if len(digest) != 32:
        raise SigningFailed("an order digest is 32 bytes")
    recoverable = CoincurveKey(key).sign_recoverable(digest, hasher=None)
    return recoverable[:64] + bytes([27 + recoverable[64]])


def order_digest(unsigned: UnsignedOrder) -> bytes:
    """keccak(0x1901 || domain separator || Order struct hash) of an unsigned order (hashing.py)."""
    fields = {
        "salt": unsigned.salt,
        "maker": unsigned.maker,
        "signer": unsigned.signer,
        "tokenId": int(unsigned.token_id),
        "makerAmount": unsigned.maker_amount,
        "takerAmount": unsigned.taker_amount,
        "side": unsigned.side,
        "signatureType": unsigned.signature_type,
        "timestamp": unsigned.timestamp,
        "metadata": unsigned.metadata,
        "builder": unsigned.builder,
    }
    return bytes.fromhex(
        order_hash(
            fields,
            chain_id=unsigned.chain_id,
            exchange=unsigned.exchange_address,
            version=unsigned.protocol_version,
        )[2:]
    )


def order_sign(
    *, account: TradingAccount, request: OrderRequest, market: MarketInfo, config: EnvironmentConfig | None = None
) -> SignedOrderPayload:
    """Sign ``request`` for a speed-mode account with its own key; the pipeline persists the result.

    Raises InvalidOrder / WalletMismatch (refused before signing) or SigningFailed.
    """
    config = config or configured_sdk_config()
    api_key = open_api_credentials(account=account).key
    try:
        key_text = open_secret(account=account, field="private_key_ciphertext").decode("ascii").strip()
        signer = Account.from_key(key_text)
    except Exception:
        raise SigningFailed(f"the signing key of account {account.code} cannot be opened") from None
    if account.signer_address and normalize_address(account.signer_address) != signer.address.lower():
        raise WalletMismatch(f"account {account.code}: the stored key does not belong to its signer_address")
    funder = account.funder_address or signer.address
    return _sign(
        signer,
        api_key=api_key,
        funder=funder,
        declared_signature_type=account.signature_type,
        request=request,
        market=market,
        config=config,
    )


def sign_order_with_key(
    *,
    private_key: str,
    api_key: str,
    funder: str,
    request: OrderRequest,
    market: MarketInfo,
    config: EnvironmentConfig | None = None,
    declared_signature_type: int | None = None,
) -> SignedOrderPayload:
    """``order_sign`` for a key held by the caller (custody tooling, benchmarks, tests)."""
    try:
        signer = Account.from_key(private_key)
    except Exception:
        raise SigningFailed("the private key is not a valid secp256k1 key") from None
    return _sign(
        signer,
        api_key=api_key,
        funder=funder,
        declared_signature_type=declared_signature_type,
        request=request,
        market=market,
        config=config or configured_sdk_config(),
    )


def _sign(
    signer: LocalAccount,
    *,
    api_key: str,
    funder: str,
    declared_signature_type: int | None,
    request: OrderRequest,
    market: MarketInfo,
    config: EnvironmentConfig,
) -> SignedOrderPayload:
    amounts = validate_order(request=request, market=market)
    kind = wallet_classify(
        signer=signer.address, funder=funder, config=config, declared_signature_type=declared_signature_type
    )
    return sign_for_wallet(
        signer,
        kind=kind,
        signer_type="OWNER",
        amounts=amounts,
        api_key=api_key,
        request=request,
        market=market,
        config=config,
    )


def sign_for_wallet(
    signer: LocalAccount,
    *,
    kind: WalletKind,
    signer_type: SignerType,
    amounts: OrderAmounts,
    api_key: str,
    request: OrderRequest,
    market: MarketInfo,
    config: EnvironmentConfig,
) -> SignedOrderPayload:
    """Draft, sign and serialise an order already validated (``amounts``) for a wallet already
    checked (``kind``): the one path every custody mode signs through. ``signer_type`` is
    "SESSION_KEY" only for a deposit wallet whose authorised session signer is ``signer``.
    """
    if signer_type == "SESSION_KEY" and kind.signature_type != DEPOSIT_WALLET_SIGNATURE_TYPE:
        raise WalletMismatch("a session signer signs only for a deposit wallet (signature type 3)")
    exchange, version = exchange_for(token_id=request.token_id, neg_risk=market.neg_risk, config=config)
    wallet = EvmAddress(kind.funder)
    draft = OrderDraft(
        chain_id=config.chain_id,
        exchange_address=EvmAddress(exchange),
        expiration=request.expiration,
        funder_address=wallet,
        offered_amount=amounts.maker_amount,
        requested_amount=amounts.taker_amount,
        order_type=request.order_type,
        side=request.side,
        signer=EvmAddress(signer.address),
        asset_id=TokenId(request.token_id),
    )
    try:
        unsigned = create_unsigned_order(draft, wallet=wallet, wallet_type=kind.wallet_type)
        digest = order_digest(unsigned)
        signature = sign_unsigned_order(unsigned=unsigned, signer=signer, digest=digest, signer_type=signer_type)
        signed = create_signed_order(unsigned, signature, post_only=request.post_only)
    except PolymarketError as exc:
        raise SigningFailed(f"the SDK refused to sign: {type(exc).__name__}") from None
    if unsigned.protocol_version != version:
        raise SigningFailed(f"SDK chose domain {unsigned.protocol_version}, expected {version}")
    payload = payload_from_signed_order(
        signed,
        owner_api_key=api_key,
        chain_id=config.chain_id,
        exchange=exchange,
        domain_version=version,
        api_address=signer.address,
    )
    if payload.order_hash != "0x" + digest.hex():
        # The body we would send does not hash to the order we signed: never send it.
        raise SigningFailed("the POST body does not hash to the signed order digest")
    return payload
