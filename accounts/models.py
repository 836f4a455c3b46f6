from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models

from polyhunter.fields import AddressField, MoneyField


class User(AbstractUser):
    """Custom from day one so the user table never needs a painful swap later."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)


class TradingAccount(models.Model):
    """A follower's trading identity: how its orders are signed and which wallet pays.

    Secrets (signer key, CLOB API credentials) are stored only as keyring ciphertexts bound to
    this row's ``code`` and field name; see accounts.keyring. They are never rendered: pages
    and the admin show whether each is set and the derived signer address.
    """

    class Mode(models.TextChoices):
        SPEED = "speed", "Speed (own signer key)"
        SESSION = "session", "Deposit wallet session key"
        FLEET = "fleet", "Operator wallet (fleet)"
        PAPER = "paper", "Paper (simulated fills)"

    class SignatureType(models.IntegerChoices):
        EOA = 0, "EOA"
        POLY_PROXY = 1, "Polymarket proxy"
        POLY_GNOSIS_SAFE = 2, "Gnosis Safe"
        POLY_1271 = 3, "Deposit wallet (ERC-1271)"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="trading_accounts")
    label = models.CharField(max_length=80, default="Main")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PAPER)
    signer_address = AddressField(blank=True, help_text="EOA that signs orders (derived from the stored key).")
    funder_address = AddressField(blank=True, help_text="Wallet that holds pUSD and shares (the order maker).")
    owner_address = AddressField(
        blank=True,
        help_text="Session mode: the EOA that owns the deposit wallet (public; its key is never asked for).",
    )
    signature_type = models.PositiveSmallIntegerField(choices=SignatureType.choices, default=SignatureType.EOA)
    private_key_ciphertext = models.BinaryField(null=True, blank=True, editable=False)
    api_credentials_ciphertext = models.BinaryField(null=True, blank=True, editable=False)
    secrets_key_id = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Keyring key id of the stored ciphertexts."
    )
    paper_balance_usdc = MoneyField(default=1000, help_text="Starting pUSD of a paper account.")
    paused = models.BooleanField(default=False)
    paused_reason = models.CharField(max_length=200, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "label"], name="account_label_per_user"),
        ]
        indexes = [
            # Used by accounts.keyring.keyring_rotate to find rows still under an old key.
            models.Index(fields=["secrets_key_id"], name="account_key_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} / {self.label} ({self.mode})"

    @property
    def has_private_key(self) -> bool:
        return self.private_key_ciphertext is not None

    @property
    def has_api_credentials(self) -> bool:
        return self.api_credentials_ciphertext is not None

    @property
    def is_paper(self) -> bool:
        return self.mode == self.Mode.PAPER


class SessionKey(models.Model):
    """A session signer PolyHunter generated for one account's deposit wallet (mode "session").

    One key per account, never shared: the venue then refuses it for any other wallet, a leak
    exposes one follower, and each follower revokes or rotates alone (docs/custody.md). The key
    and the CLOB API credentials derived with it are keyring ciphertexts bound to this row and
    its account (accounts.keyring.seal_session_secret); the rest is public.

    ``pending``: made, waiting for the owner to authorise it. ``current``: signs the account's
    orders; its authorisation's scope and expiry were read from the venue's registry, and
    ``revoked_at`` is set once the venue refused it. ``retired``: replaced, secrets erased.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for authorisation"
        CURRENT = "current", "Signs this account's orders"
        RETIRED = "retired", "Replaced (key erased)"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="session_keys")
    address = AddressField(unique=True, help_text="The session signer's address (PolyHunter holds its key).")
    wallet_address = AddressField(help_text="The one deposit wallet this key may sign for.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    scope = models.CharField(max_length=32, blank=True, help_text="Scopes the owner granted, as the venue lists them.")
    valid_until = models.DateTimeField(null=True, blank=True, help_text="When the owner's authorisation expires.")
    verified_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    key_ciphertext = models.BinaryField(null=True, blank=True, editable=False)
    api_credentials_ciphertext = models.BinaryField(null=True, blank=True, editable=False)
    secrets_key_id = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(state="current"), name="one_current_session_key"
            ),
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(state="pending"), name="one_pending_session_key"
            ),
        ]
        indexes = [models.Index(fields=["secrets_key_id"], name="session_key_id_idx")]

    def __str__(self) -> str:
        return f"{self.address} for {self.wallet_address} ({self.state})"
