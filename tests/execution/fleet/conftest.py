"""The fleet's fixtures. Chain: the settlement contract deployed on the session's node (reverted
after each test with the rest of the chain), an operator wallet and a follower holding pUSD.
Rows: a configured fleet (a published BIP-39 phrase, never anvil's: anvil's accounts #8 and #9
are the local chain's deployer and venue operator) and its OperatorWallet rows."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import pytest
from django.test import override_settings
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from execution.fleet.models import OperatorWallet
from execution.fleet.onchain import deploy_settlement, register_operator
from execution.fleet.wallets import sync_fleet
from execution.simulator.chain.local import LocalChain, call_tx, contract, dev_account, send
from tests.admin.conftest import staff_client, superuser, viewer_client  # noqa: F401  (the staff personas)

# BIP-39's first English test vector (entropy 0…0); public, holds nothing anywhere but a test.
FLEET_MNEMONIC = "abandon " * 11 + "about"


@dataclass(frozen=True)
class Fleet:
    chain: LocalChain
    w3: Web3
    settlement: str
    pusd: str
    ctf: str
    admin_key: str
    operator: LocalAccount
    follower: LocalAccount

    def approve(self, account: LocalAccount, *, pusd: Decimal | None = None, shares: bool | None = None) -> None:
        """What the follower's set-up grants the settlement contract, signed by the follower."""
        if pusd is not None:
            token = contract(self.w3, self.chain.info, "pusd")
            send(self.w3, account, call_tx(token, "approve", self.settlement, int(pusd * 10**6)))
        if shares is not None:
            ctf = contract(self.w3, self.chain.info, "ctf")
            send(self.w3, account, call_tx(ctf, "setApprovalForAll", self.settlement, shares))

    def pusd_of(self, address: str) -> int:
        return int(contract(self.w3, self.chain.info, "pusd").functions.balanceOf(address).call())

    def shares_of(self, address: str, token_id: int) -> int:
        return int(contract(self.w3, self.chain.info, "ctf").functions.balanceOf(address, token_id).call())

    def new_shares(self, holder: str, amount: int) -> int:
        """A freshly registered position id with `amount` shares minted to `holder` (as the venue operator)."""
        ctf = contract(self.w3, self.chain.info, "ctf")
        operator = dev_account(9)
        token_id, other = (int.from_bytes(secrets.token_bytes(31), "big") for _ in range(2))
        condition, question = secrets.token_bytes(32), secrets.token_bytes(32)
        send(
            self.w3,
            operator,
            call_tx(ctf, "registerCondition", condition, operator.address, question, [token_id, other]),
        )
        send(self.w3, operator, call_tx(ctf, "mint", holder, token_id, amount))
        return token_id


def new_account() -> LocalAccount:
    return cast(LocalAccount, Account.create())


def deploy_fleet(chain: LocalChain) -> Fleet:
    """The settlement contract on `chain`, a registered operator (POL, no pUSD) and a follower (100 pUSD)."""
    assert chain.w3 is not None
    admin_key = dev_account(8).key.hex()
    pusd, ctf = chain.info.contracts["pusd"], chain.info.contracts["ctf"]
    settlement = deploy_settlement(w3=chain.w3, admin_key=admin_key, pusd=pusd, ctf=ctf)
    operator, follower = new_account(), new_account()
    chain.fund(operator.address, pol="10", pusd="0", approve=False)
    chain.fund(follower.address, pol="10", pusd="100", approve=False)
    register_operator(w3=chain.w3, admin_key=admin_key, settlement=settlement, operator=operator.address)
    return Fleet(chain, chain.w3, settlement, pusd, ctf, admin_key, operator, follower)


@pytest.fixture
def fleet(chain: LocalChain) -> Fleet:
    return deploy_fleet(chain)


@pytest.fixture
def approved_fleet(fleet: Fleet) -> Fleet:
    """The follower granted the settlement contract 10 pUSD."""
    fleet.approve(fleet.follower, pusd=Decimal(10))
    return fleet


@pytest.fixture
def fleet_settings() -> Iterator[None]:
    with override_settings(TRADING_MNEMONIC_SECRET=FLEET_MNEMONIC, FLEET_SIZE=3):
        yield


@pytest.fixture
def fleet_wallets(db: None, fleet_settings: None) -> list[OperatorWallet]:
    sync_fleet()
    return list(OperatorWallet.objects.order_by("index"))
