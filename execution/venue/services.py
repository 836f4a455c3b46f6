"""Account-level venue services: the pipeline's entry points for a speed-mode TradingAccount.

Each function decrypts the account's API credentials itself, uses them for one request and lets
them go; nothing is cached or logged. Signing is ``signing.order_sign``.

    payload = order_sign(account=acct, request=req, market=gateway.market_info(token))  # no I/O
    row.signed_payload, row.order_hash = payload.to_json(), payload.order_hash          # persist
    verdict = order_post(account=acct, payload=row.signed_payload)                       # no DB txn
    ... later: order_lookup(account=acct, order_hash=row.order_hash)                     # reconcile
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils.address import to_checksum_address

from accounts.models import TradingAccount
from execution.fleet.custody import fleet_credentials_for
from execution.venue.auth import ApiCredentials, open_api_credentials
from execution.venue.classify import Classification
from execution.venue.errors import SigningFailed
from execution.venue.gateway import VenueGateway, default_gateway
from execution.venue.lookup import BalanceAllowance, OrderLookup, TradesPage
from execution.venue.payload import SignedOrderPayload


def post_signed(
    *, payload: Mapping[str, Any] | SignedOrderPayload, creds: ApiCredentials, gateway: VenueGateway | None = None
) -> Classification:
    """(Re-)POST a persisted signed order, byte for byte, and classify the answer.

    The payload is re-verified first (CorruptPayload if its body no longer hashes to its order
    hash). Raises VersionMismatch/VersionUnverified when the canary refuses trading (not sent).
    """
    signed = payload if isinstance(payload, SignedOrderPayload) else SignedOrderPayload.from_json(payload)
    return (gateway or default_gateway()).place(signed, creds=creds)


def order_post(
    *, account: TradingAccount, payload: Mapping[str, Any] | SignedOrderPayload, gateway: VenueGateway | None = None
) -> Classification:
    """``post_signed`` with the API credentials of the order's signer (the account's, or for a
    fleet copy the operator wallet's that signed it)."""
    signed = payload if isinstance(payload, SignedOrderPayload) else SignedOrderPayload.from_json(payload)
    return post_signed(payload=signed, creds=_credentials(account, signed.api_address), gateway=gateway)


def order_lookup(
    *, account: TradingAccount, order_hash: str, operator: str = "", gateway: VenueGateway | None = None
) -> OrderLookup:
    """``GET /data/order/{hash}`` as the account (a fleet copy: as its ``operator`` wallet)."""
    return (gateway or default_gateway()).get_order(
        order_hash, creds=_credentials(account, operator), address=_api_address(account, operator)
    )


def account_trades(
    *,
    account: TradingAccount,
    after: int | None = None,
    cursor: str | None = None,
    trade_id: str | None = None,
    operator: str = "",
    gateway: VenueGateway | None = None,
) -> TradesPage:
    """One page of the account's trades as maker (its funder wallet; a fleet account's: those of
    its ``operator`` wallet, which is the maker of its copies), newest rules of the venue."""
    return (gateway or default_gateway()).trades(
        creds=_credentials(account, operator),
        address=_api_address(account, operator),
        maker_address=operator or account.funder_address or account.signer_address,
        trade_id=trade_id,
        after=after,
        cursor=cursor,
    )


def account_balance(
    *, account: TradingAccount, asset_type: str, token_id: str | None = None, gateway: VenueGateway | None = None
) -> BalanceAllowance:
    """pUSD (``COLLATERAL``) or shares (``CONDITIONAL`` with ``token_id``) and allowances."""
    return (gateway or default_gateway()).balance_allowance(
        creds=open_api_credentials(account=account),
        address=_api_address(account),
        asset_type=asset_type,
        signature_type=account.signature_type,
        token_id=token_id,
    )


def _credentials(account: TradingAccount, operator: str) -> ApiCredentials:
    if account.mode == TradingAccount.Mode.FLEET:
        return fleet_credentials_for(address=operator)
    return open_api_credentials(account=account)


def _api_address(account: TradingAccount, operator: str = "") -> str:
    if account.mode == TradingAccount.Mode.FLEET:
        if not operator:
            raise SigningFailed(f"fleet account {account.code}: which operator wallet placed it is not known")
        return to_checksum_address(operator)
    if not account.signer_address:
        raise SigningFailed(f"account {account.code} has no signer address (custody not set up)")
    # POLY_ADDRESS is sent checksummed, as the SDK does; we store addresses lower-case.
    return to_checksum_address(account.signer_address)
