from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from execution.simulator import ApiCredentials, Venue, VenueSimulator

from .support import ADDR0, Clock, scenario


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection these tests open goes to 127.0.0.1; anything else fails loudly."""
    original = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to connect to {address!r}")
        original(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def clock() -> Clock:
    return Clock(1_790_000_000.0)


@pytest.fixture
def venue(clock: Clock) -> Venue:
    """A venue without HTTP, on a settable clock, with manual settlement."""
    return Venue(scenario(), clock=clock)


@pytest.fixture
def creds0(venue: Venue) -> ApiCredentials:
    return venue.credentials(ADDR0)


@pytest.fixture
def sim() -> Iterator[VenueSimulator]:
    with VenueSimulator(scenario()) as running:
        yield running
