"""Fleet custody: a follower's copies are placed by an operator wallet with the platform's float
and settled to the follower's own wallet (``TradingAccount.funder_address``) afterwards.

The follower hands over only a public address and grants, on chain, a pUSD allowance to our
settlement contract (and, to copy sells, ``setApprovalForAll`` on the CTF). Orders are type 0
(EOA): maker = signer = the operator wallet the copy checked out (execution.fleet.checkout); its
key is derived here, signs, and is dropped. Its CLOB API credentials are derived by L1 auth with
that key through our gateway the first time a process needs them, and kept in this process's
memory only (the venue derives the same ones again at nonce 0; nothing is stored).
"""

from __future__ import annotations

import threading

from django.db import transaction
from django.views.decorators.debug import sensitive_variables
from polymarket._internal.environment import EnvironmentConfig

from accounts.models import TradingAccount
from execution.fleet.checkout import wallet_held_by
from execution.fleet.keys import fleet_size, operator_account
from execution.fleet.models import OperatorWallet
from execution.fleet.setup import fleet_allowance_granted
from execution.venue.amounts import validate_order
from execution.venue.auth import ApiCredentials
from execution.venue.custody import custody_derive
from execution.venue.environment import VenueSettings, configured_sdk_config
from execution.venue.errors import SigningFailed
from execution.venue.orders import MarketInfo, OrderRequest
from execution.venue.payload import SignedOrderPayload
from execution.venue.signing import sign_for_wallet, wallet_classify
from polyhunter.audit import Actor, audit_record, snapshot
from polyhunter.lib.addresses import InvalidAddress, normalize_address

# Keyed by venue and wallet: credentials one venue issued mean nothing to another.
_CREDENTIALS: dict[tuple[str, str], ApiCredentials] = {}
_CREDENTIALS_LOCK = threading.Lock()
PUBLIC_FIELDS = ["mode", "signer_address", "funder_address", "signature_type"]


class FleetCustodyError(Exception):
    """The change was refused; the message is safe to show."""


def fleet_ready(account: TradingAccount) -> bool:
    """A fleet account copies once the fleet is configured, its wallet is known and the chain
    shows its pUSD allowance to our settlement contract (read at most once a minute). An allowance
    revoked later is found at settlement: a debt, which then stops its copies."""
    if account.mode != TradingAccount.Mode.FLEET or not account.funder_address or fleet_size() == 0:
        return False
    return fleet_allowance_granted(account)


def custody_set_fleet(*, account: TradingAccount, funder_address: str, actor: Actor) -> TradingAccount:
    """Put the account in fleet mode, settling to ``funder_address`` (its own wallet, public)."""
    try:
        funder = normalize_address(funder_address.strip())
    except InvalidAddress:
        raise FleetCustodyError("Not a valid 0x address.") from None
    if OperatorWallet.objects.filter(address=funder).exists():
        raise FleetCustodyError("That is one of PolyHunter's own trading wallets, not yours.")
    with transaction.atomic():
        row = TradingAccount.objects.select_for_update().get(pk=account.pk)
        before = snapshot(row, PUBLIC_FIELDS)
        row.mode = TradingAccount.Mode.FLEET
        row.funder_address, row.signer_address = funder, ""
        row.signature_type = TradingAccount.SignatureType.EOA
        row.private_key_ciphertext = row.api_credentials_ciphertext = None
        row.secrets_key_id = ""
        row.save()
        audit_record(actor=actor, action="custody.fleet", target=row, before=before, after=snapshot(row, PUBLIC_FIELDS))
    return row


@sensitive_variables("signer")
def fleet_sign(
    *,
    account: TradingAccount,
    request: OrderRequest,
    market: MarketInfo,
    holder: str = "",
    config: EnvironmentConfig | None = None,
) -> SignedOrderPayload:
    """Sign a fleet copy's order with the operator wallet ``holder`` (the copy) has checked out."""
    if not fleet_ready(account):
        raise SigningFailed("fleet custody is not set up for this account", reason="custody_not_ready")
    wallet = wallet_held_by(holder=holder) if holder else None
    if wallet is None:
        raise SigningFailed(f"{holder or 'this copy'} holds no operator wallet", reason="custody_not_ready")
    config = config or configured_sdk_config()
    signer = operator_account(wallet.index)
    amounts = validate_order(request=request, market=market)
    kind = wallet_classify(signer=signer.address, funder=signer.address, config=config, declared_signature_type=0)
    return sign_for_wallet(
        signer,
        kind=kind,
        signer_type="OWNER",
        amounts=amounts,
        api_key=fleet_api_credentials(wallet=wallet).key,
        request=request,
        market=market,
        config=config,
    )


@sensitive_variables("signer")
def fleet_api_credentials(*, wallet: OperatorWallet) -> ApiCredentials:
    """The operator wallet's CLOB L2 credentials: derived by L1 auth once per process, memory only."""
    venue = VenueSettings.from_settings()
    key = (venue.clob_url, wallet.address)
    with _CREDENTIALS_LOCK:
        known = _CREDENTIALS.get(key)
    if known is not None:
        return known
    signer = operator_account(wallet.index)
    material = custody_derive(private_key=signer.key.hex(), venue=venue)
    with _CREDENTIALS_LOCK:
        _CREDENTIALS[key] = material.credentials
    return material.credentials


def fleet_credentials_for(*, address: str) -> ApiCredentials:
    """Credentials of the operator wallet at ``address`` (a fleet copy's POST, lookup and trades)."""
    wallet = OperatorWallet.objects.filter(address=normalize_address(address)).first()
    if wallet is None:
        raise SigningFailed(f"{address} is not an operator wallet of this fleet")
    return fleet_api_credentials(wallet=wallet)
