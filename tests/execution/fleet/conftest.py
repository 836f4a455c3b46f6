"""Fleet fixtures: a configured fleet (a published BIP-39 phrase, never anvil's: anvil's accounts
#8 and #9 are the local chain's deployer and venue operator) and its rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from execution.fleet.models import OperatorWallet
from execution.fleet.wallets import sync_fleet
from tests.admin.conftest import staff_client, superuser, viewer_client  # noqa: F401  (the staff personas)

# BIP-39's first English test vector (entropy 0…0); public, holds nothing anywhere but a test.
FLEET_MNEMONIC = "abandon " * 11 + "about"


@pytest.fixture
def fleet_settings() -> Iterator[None]:
    with override_settings(TRADING_MNEMONIC_SECRET=FLEET_MNEMONIC, FLEET_SIZE=3):
        yield


@pytest.fixture
def fleet(db: None, fleet_settings: None) -> list[OperatorWallet]:
    sync_fleet()
    return list(OperatorWallet.objects.order_by("index"))
