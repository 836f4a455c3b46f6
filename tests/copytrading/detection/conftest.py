from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from execution.simulator import VenueSimulator
from execution.simulator.chain.local import LocalChain
from execution.venue.gateway import default_gateway
from tests.copytrading.detection.evm import Evm


@pytest.fixture
def evm(chain: LocalChain) -> Evm:
    """The exchange stand-ins on the session's anvil node (the chain fixture reverts it after the test)."""
    return Evm(chain)


@pytest.fixture(scope="session")
def _clock_venue() -> Iterator[VenueSimulator]:
    with VenueSimulator() as venue:
        yield venue


@pytest.fixture(autouse=True)
def venue_time(_clock_venue: VenueSimulator) -> Iterator[VenueSimulator]:
    """The venue whose GET /time ages the trades detection records (execution/venue/clock.py);
    a test's own venue, pointed at by its own settings, takes its place."""
    with override_settings(POLYMARKET_CLOB_URL=_clock_venue.url):
        default_gateway.cache_clear()
        yield _clock_venue
    default_gateway.cache_clear()
