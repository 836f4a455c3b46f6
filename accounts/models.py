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
    this row's ``code``, the field name and the owner; see accounts.keyring. They are never rendered: pages
    and the admin show whether each is set and the derived signer address.
    """

    class Mode(models.TextChoices):
        SPEED = "speed", "Speed (own signer key)"
        SESSION = "session", "Deposit wallet session key"
        FLEET = "fleet", "Operator wallet (fleet)"
        PAPER = "paper", "Paper (simulated fills)"

    # The keyring format new ciphertexts are sealed in (accounts.keyring): row, field and owner bound.
    SECRETS_FORMAT = 2

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
    signature_type = models.PositiveSmallIntegerField(choices=SignatureType.choices, default=SignatureType.EOA)
    private_key_ciphertext = models.BinaryField(null=True, blank=True, editable=False)
    api_credentials_ciphertext = models.BinaryField(null=True, blank=True, editable=False)
    secrets_key_id = models.CharField(
        max_length=32, blank=True, editable=False, help_text="Keyring key id of the stored ciphertexts."
    )
    secrets_format = models.PositiveSmallIntegerField(
        default=2,
        editable=False,
        help_text="Keyring format of the stored ciphertexts: 2 binds the owner; 1 (older rows) is "
        "re-sealed by rotate_encryption_keys.",
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
