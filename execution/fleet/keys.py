"""Operator wallet keys, derived from ``TRADING_MNEMONIC`` at the standard Ethereum path.

The one place that reads the phrase. A key is derived inside the function that signs with it
(``operator_account``) and dropped with its frame: never stored, cached, logged or put in an
exception. Addresses are public and may be cached.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from eth_account import Account
from eth_account.signers.local import LocalAccount

Account.enable_unaudited_hdwallet_features()

PATH_TEMPLATE = "m/44'/60'/0'/0/{index}"


class FleetNotConfigured(Exception):
    """Fleet mode is off (FLEET_SIZE 0 or no TRADING_MNEMONIC) or the index is outside the fleet."""


def derivation_path(index: int) -> str:
    if index < 0:
        raise FleetNotConfigured(f"operator wallet index {index} is negative")
    return PATH_TEMPLATE.format(index=index)


@sensitive_variables("mnemonic")
def derive_account(*, mnemonic: str, index: int) -> LocalAccount:
    """The account at m/44'/60'/0'/0/index of ``mnemonic`` (BIP-32/39/44, as MetaMask and anvil)."""
    account: LocalAccount = Account.from_mnemonic(mnemonic, account_path=derivation_path(index))
    return account


def fleet_size() -> int:
    return int(settings.FLEET_SIZE) if settings.TRADING_MNEMONIC_SECRET else 0


@sensitive_variables("mnemonic")
def operator_account(index: int) -> LocalAccount:
    """The signing account of operator wallet ``index``: call it where the key signs, and drop it."""
    mnemonic = settings.TRADING_MNEMONIC_SECRET
    if not mnemonic or not 0 <= index < int(settings.FLEET_SIZE):
        raise FleetNotConfigured(f"operator wallet {index} is not in the fleet (FLEET_SIZE={settings.FLEET_SIZE})")
    return derive_account(mnemonic=mnemonic, index=index)


def operator_address(index: int) -> str:
    """The public (lower-case) address of operator wallet ``index``."""
    return _address(settings.TRADING_MNEMONIC_SECRET, index)


@lru_cache(maxsize=1024)
@sensitive_variables("mnemonic")
def _address(mnemonic: str, index: int) -> str:
    # Keyed by the phrase so a test that changes it never sees a stale address; the cache holds
    # only the phrase the settings already hold, and public addresses.
    if not mnemonic:
        raise FleetNotConfigured("TRADING_MNEMONIC is not set")
    return str(derive_account(mnemonic=mnemonic, index=index).address).lower()
