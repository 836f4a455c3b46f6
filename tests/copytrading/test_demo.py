"""The demo seed: four followers, dave in session mode, seeded twice without change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from accounts.models import SessionKey, TradingAccount
from copytrading.demo import DAVE_OWNER_KEY, demo_seed, tape_rows
from copytrading.models import CopyRelationship
from execution.session_custody import session_status
from execution.simulator import VenueSimulator, scenario_from_activity_tape
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
