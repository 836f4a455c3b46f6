"""A fleet on the local chain: the settlement contract deployed and the fleet's wallets
registered, the simulated venue settling its matches on the same node, the platform pointed at
both, and followers in fleet mode holding pUSD and granting the contract their allowance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import override_settings
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from accounts.models import TradingAccount
from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Deployment
from execution.fleet.custody import custody_set_fleet
from execution.fleet.models import OperatorWallet
from execution.fleet.onchain import deploy_settlement, register_operator
from execution.fleet.wallets import sync_fleet, wallet_record_balances
from execution.simulator import VenueSimulator
from execution.simulator.chain.local import LocalChain, dev_account
from execution.venue.gateway import default_gateway
from tests.copytrading.pipeline.conftest import SCENARIO
from tests.execution.fleet.conftest import FLEET_MNEMONIC, Fleet
from tests.factories import make_account, make_leader, make_leader_trade, make_relationship, shared_deployment

FLEET_SIZE = 2


@dataclass
class FleetWorld:
    chain: LocalChain
    sim: VenueSimulator
    settlement: str
    deployment: Deployment
    wallets: list[OperatorWallet]
    tools: Fleet  # the chain helpers of tests/execution/fleet (balances, approvals)

    def pusd(self, address: str) -> Decimal:
        """pUSD base units held by ``address`` on chain."""
        return Decimal(self.tools.pusd_of(to_checksum_address(address)))

    def shares(self, address: str, token_id: int) -> Decimal:
        return Decimal(self.tools.shares_of(to_checksum_address(address), token_id))

    def follower(self, *, pusd: str = "100", allowance: str | None = "100") -> tuple[TradingAccount, LocalAccount]:
        owner: LocalAccount = Account.create()
        self.chain.fund(owner.address, pol="10", pusd=pusd, approve=False)
        if allowance is not None:
            self.tools.approve(owner, pusd=Decimal(allowance))
        account = custody_set_fleet(account=make_account(), funder_address=owner.address, actor="test")
        return account, owner

    def copy(self, account: TradingAccount, **follow_fields: object) -> CopyTrade:
        follow_fields.setdefault("sizing_value", Decimal(10))
        relationship = make_relationship(account=account, leader=make_leader(), **follow_fields)
        trade = make_leader_trade(leader=relationship.leader, price=Decimal("0.56"))
        (row_id,) = fanout_leader_trade(leader_trade_id=trade.id, deployment=self.deployment).pending_ids
        return CopyTrade.objects.get(id=row_id)


@pytest.fixture
def fleet_world(chain: LocalChain, db: None) -> Iterator[FleetWorld]:
    assert chain.w3 is not None
    admin_key = dev_account(8).key.hex()
    pusd, ctf = chain.info.contracts["pusd"], chain.info.contracts["ctf"]
    settlement = deploy_settlement(w3=chain.w3, admin_key=admin_key, pusd=pusd, ctf=ctf)
    with (
        VenueSimulator(SCENARIO, chain=chain.info) as sim,
        override_settings(
            TRADING_MNEMONIC_SECRET=FLEET_MNEMONIC,
            FLEET_SIZE=FLEET_SIZE,
            FLEET_SETTLEMENT_ADDRESS=settlement.lower(),
            FLEET_PUSD_ADDRESS=pusd.lower(),
            FLEET_CTF_ADDRESS=ctf.lower(),
            POLYGON_RPC_URL=chain.info.rpc_url,
            POLYMARKET_CLOB_URL=sim.url,
            POLYMARKET_DATA_URL=sim.url,
        ),
    ):
        default_gateway.cache_clear()
        sync_fleet()
        wallets = list(OperatorWallet.objects.order_by("index"))
        for wallet in wallets:
            # The float: pUSD and gas, and the exchanges' approvals (what the venue's matches use).
            chain.fund(wallet.address, pol="10", pusd="1000", approve=True)
            register_operator(w3=chain.w3, admin_key=admin_key, settlement=settlement, operator=wallet.address)
            wallet_record_balances(wallet_id=wallet.id, float_usdc=Decimal(1000), gas_pol=Decimal(10))
        tools = Fleet(chain, chain.w3, settlement, pusd, ctf, admin_key, dev_account(0), dev_account(1))
        yield FleetWorld(chain, sim, settlement, shared_deployment(), wallets, tools)
    default_gateway.cache_clear()
