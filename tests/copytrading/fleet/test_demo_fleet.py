"""The demo's fleet follower: erin's copies settle on the local chain."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings
from eth_utils.address import to_checksum_address

from accounts.models import TradingAccount
from copytrading.demo_fleet import ERIN_PUSD, demo_fleet_follower, demo_fleet_start
from copytrading.models import CopyTrade
from copytrading.pipeline.fleet_settle import fleet_settle
from execution.fleet.models import OperatorWallet
from execution.fleet.setup import fleet_setup
from execution.simulator import VenueSimulator
from execution.simulator.chain.local import LocalChain, dev_account
from execution.venue.gateway import default_gateway
from tests.copytrading.fleet.conftest import FleetWorld
from tests.copytrading.fleet.test_fleet_settlement import i6, place_and_confirm
from tests.copytrading.pipeline.conftest import SCENARIO
from tests.execution.fleet.conftest import Fleet
from tests.factories import make_account, make_user, shared_deployment

pytestmark = [pytest.mark.fleet, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_world(chain: LocalChain) -> Iterator[FleetWorld]:
    with (
        VenueSimulator(SCENARIO, chain=chain.info) as sim,
        override_settings(POLYMARKET_CLOB_URL=sim.url, POLYMARKET_DATA_URL=sim.url),
    ):
        default_gateway.cache_clear()
        demo_fleet_start(chain)  # sets the fleet's settings: restored when override_settings ends
        assert chain.w3 is not None
        settlement = to_checksum_address(settings.FLEET_SETTLEMENT_ADDRESS)
        pusd, ctf = chain.info.contracts["pusd"], chain.info.contracts["ctf"]
        admin_key = dev_account(8).key.hex()
        tools = Fleet(chain, chain.w3, settlement, pusd, ctf, admin_key, dev_account(0), dev_account(1))
        wallets = list(OperatorWallet.objects.order_by("index"))
        yield FleetWorld(chain, sim, settlement, shared_deployment(), wallets, tools)
    default_gateway.cache_clear()


def test_the_demos_fleet_follower_is_ready_and_her_copies_settle_on_chain(demo_world: FleetWorld) -> None:
    erin = demo_fleet_follower(demo_world.chain, make_account(user=make_user("erin")), actor="demo")
    assert erin.mode == TradingAccount.Mode.FLEET
    setup = fleet_setup(erin)
    assert setup is not None
    assert setup.allowance == ERIN_PUSD
    row = place_and_confirm(demo_world, demo_world.copy(erin))
    assert fleet_settle(row.id) == "settled"
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.SETTLED
    assert demo_world.shares(erin.funder_address, int(row.token_id)) == row.size_matched * Decimal(10**6)
    assert i6() == []
