"""Custody setup: how an account's orders are signed (paper, or speed with the owner's own key;
session mode, where the owner's deposit wallet authorises our signer, is execution.session_custody).

Secrets go in through here and never come back out: the key and the CLOB API credentials are
sealed with the keyring the moment they are validated, and the audit trail records only that
they were set and the derived (public) signer address. Nothing here logs, returns or raises
with a plaintext in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from accounts.keyring import seal_secret
from accounts.models import TradingAccount
from execution.fleet.custody import fleet_ready
from execution.session_custody import SessionStatus, session_keys_forget, session_ready, session_status
from execution.venue.auth import ApiCredentials
from execution.venue.custody import CustodyMaterial, custody_check_wallet, custody_derive
from execution.venue.errors import NotSent, SigningFailed, VenueError, WalletMismatch
from polyhunter.audit import Actor, audit_record, snapshot
from polyhunter.lib.addresses import InvalidAddress, normalize_address

PUBLIC_FIELDS = ["mode", "signer_address", "funder_address", "signature_type"]
# CopyTrade statuses (copytrading app) of orders that may sit on the venue under the current
# key and API credentials: the reconciler needs those exact credentials to learn their outcome,
# so custody cannot change under them. Named as strings: execution never imports copytrading.
IN_FLIGHT_STATUSES = ("claimed", "signed", "unknown", "delayed", "live")


class CustodyError(Exception):
    """The custody change was refused; the message is safe to show (it never holds a secret)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CustodyStatus:
    """What a page may show about an account's custody: public facts and "set" / "not set"."""

    mode: str
    mode_label: str
    signer_address: str
    funder_address: str
    signature_type_label: str
    private_key_set: bool
    api_credentials_set: bool
    ready: bool
    session: SessionStatus | None = None


def custody_status(account: TradingAccount) -> CustodyStatus:
    return CustodyStatus(
        mode=account.mode,
        mode_label=account.get_mode_display(),
        signer_address=account.signer_address,
        funder_address=account.funder_address,
        signature_type_label=account.get_signature_type_display(),
        private_key_set=account.has_private_key,
        api_credentials_set=account.has_api_credentials,
        ready=custody_ready(account),
        session=session_status(account),
    )


def custody_ready(account: TradingAccount) -> bool:
    """Can this account's orders be placed? Paper always; speed once its key and credentials are
    set; session while its signer's authorisation is verified, unexpired and not refused; fleet
    once the fleet is configured and the account's wallet is known."""
    if account.mode == TradingAccount.Mode.SPEED:
        return account.has_private_key and account.has_api_credentials and bool(account.signer_address)
    if account.mode == TradingAccount.Mode.SESSION:
        return session_ready(account)
    if account.mode == TradingAccount.Mode.FLEET:
        return fleet_ready(account)
    return True


def _refuse_if_in_flight(account: TradingAccount) -> None:
    in_flight = TradingAccount.objects.filter(pk=account.pk, copy_trades__status__in=IN_FLIGHT_STATUSES).exists()
    if in_flight:
        raise CustodyError(
            "Orders of this account are still on their way to the venue; change custody once they have settled."
        )


def custody_set_paper(*, account: TradingAccount, actor: Actor) -> TradingAccount:
    """Make the account simulated: its stored key and API credentials are erased, not kept aside."""
    with transaction.atomic():
        row = TradingAccount.objects.select_for_update().get(pk=account.pk)
        if row.mode != TradingAccount.Mode.PAPER:
            _refuse_if_in_flight(row)
        before = _public_snapshot(row)
        session_keys_forget(row)
        row.mode = TradingAccount.Mode.PAPER
        row.private_key_ciphertext = None
        row.api_credentials_ciphertext = None
        row.secrets_key_id = ""
        row.signer_address = ""
        row.funder_address = ""
        row.signature_type = TradingAccount.SignatureType.EOA
        row.save()
        audit_record(actor=actor, action="custody.paper", target=row, before=before, after=_public_snapshot(row))
    return row


@sensitive_variables("private_key", "api_credentials", "material")
def custody_set_speed(
    *,
    account: TradingAccount,
    private_key: str,
    funder_address: str,
    signature_type: int,
    api_credentials: ApiCredentials | None,
    actor: Actor,
) -> TradingAccount:
    """Store the owner's signer key and CLOB API credentials, sealed; the account then signs its own orders.

    ``funder_address`` empty means the signer's own EOA holds the funds (signature type 0). When
    ``api_credentials`` is None they are created or derived from the venue by L1 auth with the key.
    Raises CustodyError with a message that is safe to show.
    """
    material = _derive(private_key=private_key, api_credentials=api_credentials)
    funder = _checked_funder(
        signer=material.signer_address, funder_address=funder_address, signature_type=signature_type
    )
    with transaction.atomic():
        row = TradingAccount.objects.select_for_update().get(pk=account.pk)
        _refuse_if_in_flight(row)
        before = _public_snapshot(row)
        session_keys_forget(row)
        row.mode = TradingAccount.Mode.SPEED
        row.signer_address = material.signer_address.lower()
        row.funder_address = funder
        row.signature_type = signature_type
        seal_secret(account=row, field="private_key_ciphertext", plaintext=_key_text(private_key).encode("ascii"))
        seal_secret(account=row, field="api_credentials_ciphertext", plaintext=material.credentials.to_json_bytes())
        row.save()
        audit_record(
            actor=actor,
            action="custody.speed",
            target=row,
            before=before,
            after=_public_snapshot(row) | {"credentials": "derived" if material.derived else "entered"},
        )
    return row


@sensitive_variables("private_key", "api_credentials")
def _derive(*, private_key: str, api_credentials: ApiCredentials | None) -> CustodyMaterial:
    try:
        return custody_derive(private_key=_key_text(private_key), credentials=api_credentials)
    except SigningFailed:
        raise CustodyError("This is not a valid private key (64 hex characters).", field="private_key") from None
    except NotSent:
        raise CustodyError("The venue could not be reached to create API credentials; try again.") from None
    except VenueError as exc:
        raise CustodyError(f"The venue did not issue API credentials ({exc.reason}); enter them instead.") from None


def _checked_funder(*, signer: str, funder_address: str, signature_type: int) -> str:
    if signature_type not in TradingAccount.SignatureType.values:
        raise CustodyError("Choose a wallet type.", field="signature_type")
    funder = funder_address.strip() or signer
    try:
        funder = normalize_address(funder)
        custody_check_wallet(signer_address=signer, funder_address=funder, declared_signature_type=signature_type)
    except InvalidAddress:
        raise CustodyError("Not a valid 0x address.", field="funder_address") from None
    except WalletMismatch as exc:
        raise CustodyError(f"{exc.detail}.", field="funder_address") from None
    return funder


@sensitive_variables("private_key")
def _key_text(private_key: str) -> str:
    """The key as the signer stores it: 0x and 64 lower-case hex characters."""
    text = private_key.strip().lower()
    return text if text.startswith("0x") else "0x" + text


def _public_snapshot(account: TradingAccount) -> dict[str, object]:
    return snapshot(account, PUBLIC_FIELDS) | {
        "private_key": "set" if account.has_private_key else "not set",
        "api_credentials": "set" if account.has_api_credentials else "not set",
    }
