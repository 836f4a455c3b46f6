"""The follower-facing features against the simulated venue seeded from the recorded leader tape
(the demo's markets, with their real titles), over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from copytrading.demo import tape_rows
from execution.simulator import Scenario, VenueSimulator, scenario_from_activity_tape
from execution.venue.gateway import default_gateway

FEE_RATE = Decimal("0.02")


@pytest.fixture(scope="session")
def tape() -> list[dict[str, Any]]:
    return tape_rows()


def tape_scenario(rows: list[dict[str, Any]]) -> Scenario:
    scenario = scenario_from_activity_tape(rows, fee_rate=FEE_RATE)
    scenario.manual_settlement = True
    return scenario


@pytest.fixture(scope="session")
def tape_simulator(tape: list[dict[str, Any]]) -> Iterator[VenueSimulator]:
    with VenueSimulator(tape_scenario(tape)) as sim:
        yield sim


@pytest.fixture
def tape_venue(tape_simulator: VenueSimulator, tape: list[dict[str, Any]]) -> Iterator[VenueSimulator]:
    """A fresh venue holding the tape's markets, and the platform pointed at it."""
    tape_simulator.reset(tape_scenario(tape))
    with override_settings(POLYMARKET_CLOB_URL=tape_simulator.url, POLYMARKET_DATA_URL=tape_simulator.url):
        default_gateway.cache_clear()
        yield tape_simulator
    default_gateway.cache_clear()
