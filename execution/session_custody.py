"""Session-key custody: the follower's deposit wallet authorises a signer PolyHunter holds, and
PolyHunter never holds the follower's own key.

1. ``custody_set_session``: the follower gives their owner address (public). We derive their
   deposit wallet (CREATE2, checked against the shared vectors), make a fresh session key for
   this account alone, derive its CLOB API credentials (L1 auth signed by the session key) and
   seal both with the keyring. Nothing trades yet.
2. The owner authorises that signer for the wallet — scope CLOB, an expiry they choose — with
   their own tools (polymarket.com or the official SDK, on their own machine).
3. ``session_verify``: we read the venue's registry with the session signer's credentials and
   activate the key only if it lists this signer for this wallet, scope CLOB, not expired.
4. Orders: ``session_sign`` (the pipeline's signing step, under the same caps and gates as every
   mode) refuses unless the key is current, verified, unexpired, not refused, and bound to the
   account's wallet; the venue checks the grant again on every order.
5. The venue refuses the signature (authorisation revoked or expired): ``session_mark_lost``
   records it (the pipeline pauses the account at once); the follower authorises again and
   verifies from the page.

Rotation keeps the current key signing until the owner has authorised its replacement and we
verified it (``session_rotate`` for one account, ``session_rotation_start`` for every account).
Plaintexts (the session key, the API secret and passphrase) exist only inside the functions that
seal, sign or authenticate; never in logs, task arguments, pages or the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.keyring import open_session_secret, seal_session_secret
from accounts.models import SessionKey, TradingAccount
from execution.venue.auth import ApiCredentials
from execution.venue.custody import custody_derive
from execution.venue.environment import configured_sdk_config
from execution.venue.errors import NotSent, SigningFailed, VenueError, VenueRefused, WalletMismatch
from execution.venue.gateway import VenueGateway, default_gateway
from execution.venue.orders import MarketInfo, OrderRequest
from execution.venue.payload import SignedOrderPayload
from execution.venue.session import (
    CLOB_SCOPE,
    SessionRegistry,
    deposit_wallets_of,
    session_key_create,
    session_order_sign,
)
from polyhunter.audit import Actor, audit_record, snapshot
from polyhunter.lib.addresses import InvalidAddress, normalize_address

# Flagged to the follower this long before the owner's authorisation runs out.
EXPIRY_WARNING = timedelta(days=14)
# An authorisation closer than this to its end is not worth activating: ask for a longer one.
MIN_REMAINING = timedelta(hours=1)
# Besides orders on their way, fills still settling need the key's API credentials to be read.
SETTLING_STATUSES = ("claimed", "signed", "unknown", "delayed", "live", "filled")
_PUBLIC = ["mode", "owner_address", "funder_address", "signer_address", "signature_type"]


class SessionCustodyError(Exception):
    """Refused; the message is plain words for the follower and never holds a secret."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SessionStatus:
    """What the account page shows about session custody (public facts only)."""

    state: str  # pending | active | expiring_soon | expired | revoked
    words: str
    owner_address: str
    deposit_wallet: str
    other_wallet: str  # the owner's other deposit wallet (older kind), offered before activation
    signer_address: str  # the signer to authorise (a rotation's new one while it waits)
    scope: str
    valid_until: datetime | None
    verified_at: datetime | None
    rotating_from: str  # the signer still trading while a replacement waits ("" if none)

    @property
    def ready(self) -> bool:
        return self.state in ("active", "expiring_soon")

    @property
    def label(self) -> str:
        return self.state.replace("_", " ")


def _keys(account: TradingAccount) -> tuple[SessionKey | None, SessionKey | None]:
    current = pending = None
    for key in account.session_keys.exclude(state=SessionKey.State.RETIRED):
        if key.state == SessionKey.State.CURRENT:
            current = key
        else:
            pending = key
    return current, pending


def session_status(account: TradingAccount, *, now: datetime | None = None) -> SessionStatus | None:
    if account.mode != TradingAccount.Mode.SESSION:
        return None
    now = now or timezone.now()
    current, pending = _keys(account)
    other = ""
    if account.owner_address:
        wallets = deposit_wallets_of(owner=account.owner_address, config=configured_sdk_config())
        other = wallets.legacy if account.funder_address == wallets.current else wallets.current
    shown = current or pending
    waiting = pending or current
    state, words = _state(current, now)
    return SessionStatus(
        state=state,
        words=words,
        owner_address=account.owner_address,
        deposit_wallet=account.funder_address,
        other_wallet=other if current is None else "",
        signer_address=waiting.address if waiting is not None else "",
        scope=shown.scope if shown else "",
        valid_until=current.valid_until if current else None,
        verified_at=current.verified_at if current else None,
        rotating_from=current.address if current and pending else "",
    )


def _state(current: SessionKey | None, now: datetime) -> tuple[str, str]:
    if current is None or current.valid_until is None:
        return "pending", "waiting for you to authorise PolyHunter's session signer"
    if current.revoked_at is not None:
        return "revoked", "revoked: the venue no longer accepts PolyHunter's signer for your wallet"
    if current.valid_until <= now:
        return "expired", f"expired on {current.valid_until:%Y-%m-%d %H:%M} UTC"
    left = current.valid_until - now
    if left <= EXPIRY_WARNING:
        return "expiring_soon", f"expires in {max(left.days, 0)} day(s), on {current.valid_until:%Y-%m-%d}: renew it"
    return "active", f"active until {current.valid_until:%Y-%m-%d}"


def session_ready(account: TradingAccount, *, now: datetime | None = None) -> bool:
    current, _pending = _keys(account)
    return current is not None and _unusable(account, current, now or timezone.now()) is None


def _unusable(account: TradingAccount, key: SessionKey, now: datetime) -> str | None:
    """Why this key may not sign for this account now (plain words), or None."""
    if key.valid_until is None or key.verified_at is None:
        return "the session signer is not authorised yet"
    if key.revoked_at is not None:
        return "your deposit wallet's authorisation of PolyHunter's session signer was revoked"
    if key.valid_until <= now:
        until = f"{key.valid_until:%Y-%m-%d}"
        return f"your deposit wallet's authorisation of PolyHunter's session signer expired on {until}"
    if key.wallet_address != account.funder_address or key.address != account.signer_address:
        # A key signs for the one wallet that authorised it, never for another account's.
        return "the session signer does not belong to this account's deposit wallet"
    return None


@sensitive_variables("signer", "key_text", "material")
def custody_set_session(
    *, account: TradingAccount, owner_address: str, actor: Actor, legacy_wallet: bool = False
) -> TradingAccount:
    """Start (or restart) session custody for ``owner_address``'s deposit wallet.

    Idempotent for the same owner and wallet while a key waits: the same signer is shown again.
    A stored speed-mode key and its API credentials are erased. Nothing trades until verified.
    """
    try:
        wallets = deposit_wallets_of(owner=owner_address, config=configured_sdk_config())
    except InvalidAddress:
        raise SessionCustodyError("Not a valid 0x address.", field="owner_address") from None
    wallet = wallets.legacy if legacy_wallet else wallets.current
    current, pending = _keys(account)
    same = account.mode == TradingAccount.Mode.SESSION and account.owner_address == wallets.owner
    if same and account.funder_address == wallet and (pending or current):
        return account
    signer = session_key_create()
    key_text = "0x" + bytes(signer.key).hex()
    material = _credentials_for(key_text)
    with transaction.atomic():
        row = TradingAccount.objects.select_for_update().get(pk=account.pk)
        _refuse_while_settling(row)
        before = _snapshot(row)
        _retire(row.session_keys.exclude(state=SessionKey.State.RETIRED))
        row.mode = TradingAccount.Mode.SESSION
        row.owner_address = wallets.owner
        row.funder_address = wallet
        row.signer_address = ""
        row.signature_type = TradingAccount.SignatureType.POLY_1271
        row.private_key_ciphertext = None
        row.api_credentials_ciphertext = None
        row.secrets_key_id = ""
        row.save()
        key = SessionKey(account=row, address=signer.address.lower(), wallet_address=wallet)
        _seal(key, key_text, material)
        key.save()
        audit_record(actor=actor, action="custody.session", target=row, before=before, after=_snapshot(row))
    return row


@sensitive_variables("key_text")
def _credentials_for(key_text: str) -> ApiCredentials:
    try:
        return custody_derive(private_key=key_text).credentials
    except NotSent:
        raise SessionCustodyError("The venue could not be reached to set up the session signer; try again.") from None
    except VenueError as exc:
        raise SessionCustodyError(f"The venue did not issue API credentials ({exc.reason}); try again.") from None


@sensitive_variables("key_text", "credentials")
def _seal(key: SessionKey, key_text: str, credentials: ApiCredentials) -> None:
    seal_session_secret(session_key=key, field="key_ciphertext", plaintext=key_text.encode("ascii"))
    seal_session_secret(session_key=key, field="api_credentials_ciphertext", plaintext=credentials.to_json_bytes())


def _retire(keys: QuerySet[SessionKey]) -> None:
    """Erase keys that no longer sign (replaced, or the account left session mode)."""
    keys.update(
        state=SessionKey.State.RETIRED,
        retired_at=timezone.now(),
        key_ciphertext=None,
        api_credentials_ciphertext=None,
        secrets_key_id="",
        updated_at=timezone.now(),
    )


def session_keys_forget(account: TradingAccount) -> None:
    """The account leaves session mode: its session keys are erased, not kept aside."""
    _retire(account.session_keys.exclude(state=SessionKey.State.RETIRED))
    account.owner_address = ""


def _refuse_while_settling(account: TradingAccount) -> None:
    if TradingAccount.objects.filter(pk=account.pk, copy_trades__status__in=SETTLING_STATUSES).exists():
        raise SessionCustodyError(
            "Copies of this account are still on their way or settling; try again once they have settled."
        )


def session_verify(*, account: TradingAccount, actor: Actor, gateway: VenueGateway | None = None) -> TradingAccount:
    """Activate the waiting signer (or re-activate the current one) once the venue's registry
    lists it for this wallet with scope CLOB and a future expiry; SessionCustodyError otherwise."""
    current, pending = _keys(account)
    key = pending or current
    if account.mode != TradingAccount.Mode.SESSION or key is None:
        raise SessionCustodyError("This account is not set up for a session signer.")
    registry = _registry_of(key, gateway or default_gateway())
    now = timezone.now()
    grant = registry.grant_for(key.address) if registry.wallet == key.wallet_address else None
    if grant is None:
        raise SessionCustodyError(
            f"Your deposit wallet {key.wallet_address} does not list PolyHunter's signer {key.address} yet. "
            "Authorise it (scope CLOB), wait for the confirmation, then check again."
        )
    if not grant.covers(CLOB_SCOPE):
        raise SessionCustodyError(
            f"The signer is authorised for {', '.join(grant.scopes)}, not for CLOB trading: authorise it for CLOB."
        )
    if grant.valid_until - now < MIN_REMAINING:
        raise SessionCustodyError("The authorisation ends within the hour: authorise it again with a later expiry.")
    with transaction.atomic():
        row = TradingAccount.objects.select_for_update().get(pk=account.pk)
        if key.state == SessionKey.State.PENDING and current is not None:
            _refuse_while_settling(row)  # the old key's credentials still read those orders
        before = _snapshot(row)
        if key.state == SessionKey.State.PENDING:
            _retire(row.session_keys.filter(state=SessionKey.State.CURRENT))
        SessionKey.objects.filter(pk=key.pk).update(
            state=SessionKey.State.CURRENT,
            scope=",".join(grant.scopes),
            valid_until=grant.valid_until,
            verified_at=now,
            checked_at=now,
            revoked_at=None,
            updated_at=now,
        )
        row.signer_address = key.address
        row.save(update_fields=["signer_address", "updated_at"])
        audit_record(
            actor=actor,
            action="custody.session.verified",
            target=row,
            before=before,
            after=_snapshot(row) | {"scope": ",".join(grant.scopes), "valid_until": grant.valid_until.isoformat()},
        )
    return row


@sensitive_variables("creds")
def _registry_of(key: SessionKey, gateway: VenueGateway) -> SessionRegistry:
    """The registry as the session signer sees it. API keys can be deleted at the venue (or a
    restarted venue forgets them); we hold the signer, so a refused key is derived again by L1
    auth, sealed, and the read tried once more."""
    creds = ApiCredentials.from_json_bytes(open_session_secret(session_key=key, field="api_credentials_ciphertext"))
    try:
        return gateway.session_registry(creds=creds, address=_checksummed(key.address))
    except VenueRefused as exc:
        if exc.status != 401:
            raise SessionCustodyError(f"The venue refused the check ({exc.message or exc.reason}).") from None
    except VenueError as exc:
        raise SessionCustodyError(f"The venue could not be asked right now ({exc.reason}); try again.") from None
    creds = _renew_credentials(key)
    try:
        return gateway.session_registry(creds=creds, address=_checksummed(key.address))
    except VenueError as exc:
        raise SessionCustodyError(f"The venue could not be asked right now ({exc.reason}); try again.") from None


@sensitive_variables("key_text", "creds")
def _renew_credentials(key: SessionKey) -> ApiCredentials:
    key_text = open_session_secret(session_key=key, field="key_ciphertext").decode("ascii")
    creds = _credentials_for(key_text)
    seal_session_secret(session_key=key, field="api_credentials_ciphertext", plaintext=creds.to_json_bytes())
    key.save(update_fields=["api_credentials_ciphertext", "secrets_key_id", "updated_at"])
    return creds


def _checksummed(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return to_checksum_address(address)


def session_use_wallet(*, account: TradingAccount, wallet: str, actor: Actor) -> TradingAccount:
    """Switch to the owner's other deposit wallet (older accounts), before the signer is active."""
    if account.mode != TradingAccount.Mode.SESSION or not account.owner_address:
        raise SessionCustodyError("This account is not set up for a session signer.")
    try:
        chosen = normalize_address(wallet)
    except InvalidAddress:
        raise SessionCustodyError("Not a valid 0x address.") from None
    wallets = deposit_wallets_of(owner=account.owner_address, config=configured_sdk_config())
    if chosen not in wallets:
        raise SessionCustodyError("That is not a deposit wallet of your owner address.")
    current, _pending = _keys(account)
    if current is not None:
        raise SessionCustodyError("The signer is already active for your wallet; start over to change wallet.")
    return custody_set_session(
        account=account, owner_address=wallets.owner, actor=actor, legacy_wallet=chosen == wallets.legacy
    )


@sensitive_variables("signer", "key_text", "material")
def session_rotate(*, account: TradingAccount, actor: Actor) -> SessionKey:
    """Make the replacement signer the owner must authorise; the current one keeps signing until
    the replacement is verified (then it is erased). Returns the waiting key (an existing one too)."""
    current, pending = _keys(account)
    if pending is not None:
        return pending
    if current is None:
        raise SessionCustodyError("There is no active session signer to replace yet.")
    signer = session_key_create()
    key_text = "0x" + bytes(signer.key).hex()
    material = _credentials_for(key_text)
    with transaction.atomic():
        key = SessionKey(account=account, address=signer.address.lower(), wallet_address=current.wallet_address)
        _seal(key, key_text, material)
        key.save()
        audit_record(actor=actor, action="custody.session.rotate", target=account, after={"new_signer": key.address})
    return key


@dataclass(frozen=True)
class RotationProgress:
    waiting: int  # accounts whose new signer is not authorised yet (the old one still signs)
    moved: int  # session accounts with no replacement waiting


def session_rotation_start(*, actor: Actor) -> RotationProgress:
    """Staff: give every session account a replacement signer to authorise (old keys stay until
    each follower moved)."""
    accounts = TradingAccount.objects.filter(mode=TradingAccount.Mode.SESSION, session_keys__state="current")
    for account in accounts.distinct():
        try:
            session_rotate(account=account, actor=actor)
        except SessionCustodyError:
            continue
    return session_rotation_progress()


def session_rotation_progress() -> RotationProgress:
    counted = TradingAccount.objects.filter(mode=TradingAccount.Mode.SESSION).annotate(
        current=Count("session_keys", filter=Q(session_keys__state=SessionKey.State.CURRENT)),
        pending=Count("session_keys", filter=Q(session_keys__state=SessionKey.State.PENDING)),
    )
    return RotationProgress(
        waiting=counted.filter(current__gt=0, pending__gt=0).count(),
        moved=counted.filter(current__gt=0, pending=0).count(),
    )


def session_mark_lost(*, account: TradingAccount, detail: str) -> bool:
    """The venue refused the current signer's signature: record that its grant is gone.

    True when this call recorded it (the first refusal); the caller pauses the account.
    """
    now = timezone.now()
    updated = SessionKey.objects.filter(account=account, state=SessionKey.State.CURRENT, revoked_at=None).update(
        revoked_at=now, checked_at=now, updated_at=now
    )
    if updated:
        audit_record(
            actor="system:venue",
            action="custody.session.lost",
            target=account,
            reason=detail[:200],
            after={"signer_address": account.signer_address},
        )
    return bool(updated)


def session_check(*, account: TradingAccount, gateway: VenueGateway | None = None) -> str:
    """Re-read the registry for the current signer (periodic): its state afterwards, and a grant
    that disappeared is recorded as lost (``"revoked"``), before any order meets the refusal."""
    current, _pending = _keys(account)
    if current is None or current.revoked_at is not None or current.verified_at is None:
        return _state(current, timezone.now())[0]
    try:
        registry = _registry_of(current, gateway or default_gateway())
    except SessionCustodyError:
        return _state(current, timezone.now())[0]
    grant = registry.grant_for(current.address) if registry.wallet == current.wallet_address else None
    now = timezone.now()
    if grant is None or not grant.covers(CLOB_SCOPE):
        session_mark_lost(account=account, detail="the venue's registry no longer lists the signer")
        return "revoked"
    SessionKey.objects.filter(pk=current.pk).update(
        valid_until=grant.valid_until, scope=",".join(grant.scopes), checked_at=now, updated_at=now
    )
    current.valid_until = grant.valid_until
    return _state(current, now)[0]


@sensitive_variables("key_text", "creds")
def session_sign(
    *, account: TradingAccount, request: OrderRequest, market: MarketInfo, now: datetime | None = None
) -> SignedOrderPayload:
    """Sign ``request`` for a session account with its current session key (the pipeline's step).

    SigningFailed (nothing signed) unless the key is current, verified, unexpired, not refused
    by the venue and bound to this account's deposit wallet; WalletMismatch when the wallet is
    not the owner's deposit wallet.
    """
    current, _pending = _keys(account)
    if current is None:
        raise SigningFailed("no session signer is authorised for this account yet", reason="session_not_ready")
    problem = _unusable(account, current, now or timezone.now())
    if problem is not None:
        raise SigningFailed(problem, reason="session_not_ready")
    try:
        creds = ApiCredentials.from_json_bytes(
            open_session_secret(session_key=current, field="api_credentials_ciphertext")
        )
        key_text = open_session_secret(session_key=current, field="key_ciphertext").decode("ascii")
    except Exception:
        raise SigningFailed(f"the session key of account {account.code} cannot be opened") from None
    payload = session_order_sign(
        session_key=key_text,
        owner=account.owner_address,
        wallet=current.wallet_address,
        api_key=creds.key,
        request=request,
        market=market,
        config=configured_sdk_config(),
    )
    if payload.api_address.lower() != current.address:
        raise WalletMismatch(f"account {account.code}: the stored session key is not its signer")
    return payload


def _snapshot(account: TradingAccount) -> dict[str, object]:
    return snapshot(account, _PUBLIC) | {"private_key": "set" if account.has_private_key else "not set"}
