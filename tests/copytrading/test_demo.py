"""The demo seed: four followers, dave in session mode, and erin in fleet mode with the local chain;
seeded twice without change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings
from pytest_django.fixtures import Settings

from accounts.models import SessionKey, TradingAccount
from copytrading.demo import DAVE_OWNER_KEY, FLEET_FOLLOWER, demo_seed, tape_rows
from copytrading.demo_fleet import DEMO_FLEET_SIZE, ERIN_PUSD
from copytrading.models import CopyRelationship
from execution.fleet.models import OperatorWallet
from execution.fleet.setup import fleet_setup
from execution.session_custody import session_status
from execution.simulator import VenueSimulator, scenario_from_activity_tape
from execution.simulator.chain.local import LocalChain
from execution.venue.gateway import default_gateway

pytestmark = [pytest.mark.session_custody, pytest.mark.django_db]


@pytest.fixture
def venue(settings: Settings) -> Iterator[VenueSimulator]:
    with VenueSimulator(scenario_from_activity_tape(tape_rows())) as sim:
        settings.POLYMARKET_CLOB_URL = sim.url
        settings.POLYMARKET_DATA_URL = sim.url
        default_gateway.cache_clear()
        yield sim
    default_gateway.cache_clear()


def test_the_demo_has_one_session_key_follower_whose_signer_the_venue_accepts(venue: VenueSimulator) -> None:
    seed = demo_seed(rows=tape_rows())
    dave = TradingAccount.objects.get(user__username="dave")
    status = session_status(dave)
    assert status is not None
    assert (dave.mode, status.state, status.ready) == (TradingAccount.Mode.SESSION, "active", True)
    assert seed.dave_wallet == dave.funder_address
    assert [s["address"] for s in venue.session_signers(dave.funder_address)] == [dave.signer_address]
    assert dave.private_key_ciphertext is None
    assert CopyRelationship.objects.filter(account=dave).count() == len(seed.leaders)
    assert {a.mode for a in TradingAccount.objects.all()} == {"speed", "paper", "session"}

    # A restarted simulator forgot the grant: seeding again re-authorises the same signer.
    venue.reset(scenario_from_activity_tape(tape_rows()))
    again = demo_seed(rows=tape_rows())
    dave.refresh_from_db()
    assert again.dave_wallet == seed.dave_wallet
    assert SessionKey.objects.filter(account=dave).count() == 1
    assert [s["address"] for s in venue.session_signers(dave.funder_address)] == [dave.signer_address]
    assert DAVE_OWNER_KEY[2:] not in str(list(TradingAccount.objects.values()))


@pytest.mark.fleet
@pytest.mark.django_db(transaction=True)
def test_the_demo_on_the_local_chain_adds_erin_in_fleet_mode_and_seeds_twice_without_change(
    chain: LocalChain, settings: Settings
) -> None:
    """What `make demo` seeds (the chain is on by default): the four followers as without it, and
    erin, whose wallet granted the settlement contract its allowance."""
    rows = tape_rows()
    with VenueSimulator(scenario_from_activity_tape(rows), chain=chain.info) as sim:
        settings.POLYMARKET_CLOB_URL = settings.POLYMARKET_DATA_URL = sim.url
        default_gateway.cache_clear()
        with override_settings():  # demo_fleet_start configures the fleet: dropped with this block
            seed = demo_seed(rows=rows, chain=chain)
            again = demo_seed(rows=rows, chain=chain)
            erin = TradingAccount.objects.get(user__username="erin")
            setup = fleet_setup(erin)
            assert setup is not None
            assert (setup.allowance, setup.allowance_in_place) == (ERIN_PUSD, True)
            assert OperatorWallet.objects.filter(state=OperatorWallet.State.ACTIVE).count() == DEMO_FLEET_SIZE
    default_gateway.cache_clear()
    assert FLEET_FOLLOWER in seed.logins
    assert [name for name, _ in again.logins] == ["admin", "alice", "bob", "carol", "dave", "erin"]
    assert {a.mode for a in TradingAccount.objects.all()} == {"speed", "paper", "session", "fleet"}
    assert TradingAccount.objects.filter(user__username="erin").count() == 1
    assert CopyRelationship.objects.filter(account=erin).count() == len(seed.leaders)
