from __future__ import annotations

import pytest
from django.test import override_settings

from execution.fleet.keys import FleetNotConfigured, derive_account, operator_account, operator_address
from tests.execution.fleet.conftest import FLEET_MNEMONIC

pytestmark = pytest.mark.fleet

# anvil's (and Hardhat's) published development accounts: m/44'/60'/0'/0/i of this phrase.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
ANVIL_ACCOUNTS = {
    0: (
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    ),
    1: (
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    ),
    9: (
        "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
        "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
    ),
}


@pytest.mark.parametrize("index", sorted(ANVIL_ACCOUNTS))
def test_it_derives_the_published_anvil_accounts(index: int) -> None:
    address, key = ANVIL_ACCOUNTS[index]
    account = derive_account(mnemonic=ANVIL_MNEMONIC, index=index)
    assert account.address == address
    assert account.key.hex().removeprefix("0x") == key.removeprefix("0x")


def test_it_derives_the_bip39_vector_address() -> None:
    # "abandon x11 about" at m/44'/60'/0'/0/0, as MetaMask, ethers and web3 all give it.
    assert derive_account(mnemonic=FLEET_MNEMONIC, index=0).address == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"


def test_it_signs_only_inside_the_fleet() -> None:
    with override_settings(TRADING_MNEMONIC_SECRET=FLEET_MNEMONIC, FLEET_SIZE=2):
        assert operator_account(1).address.lower() == operator_address(1)
        with pytest.raises(FleetNotConfigured):
            operator_account(2)
    with override_settings(TRADING_MNEMONIC_SECRET="", FLEET_SIZE=2), pytest.raises(FleetNotConfigured):
        operator_account(0)


def test_its_errors_never_carry_the_phrase() -> None:
    with (
        override_settings(TRADING_MNEMONIC_SECRET=FLEET_MNEMONIC, FLEET_SIZE=1),
        pytest.raises(FleetNotConfigured) as caught,
    ):
        operator_account(5)
    assert "abandon" not in str(caught.value)
