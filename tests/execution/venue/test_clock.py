"""Venue time (execution/venue/clock.py): the offset measured from ``GET /time`` over HTTP, the
simulator told to run ahead of or behind this process's clock; one measurement at a time per
process; and what a failing ``/time`` does (the last offset for a bounded time, then nothing)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from execution.simulator import VenueSimulator
from execution.venue.clock import VenueClock, VenueClockUnknown, parse_server_time
from execution.venue.custody import custody_derive
from execution.venue.errors import UnexpectedAnswer
from execution.venue.polymarket import PolymarketGateway
from tests.execution.venue.conftest import ADDRESS_0, KEY_0, venue_settings
from tests.execution.venue.localserver import LocalVenue, Reply, serve

# The venue answers whole seconds: an offset is known to about half a second (plus half the
# round trip on 127.0.0.1).
TOLERANCE = 1.0


@pytest.fixture
def skewed() -> Iterator[VenueSimulator]:
    with VenueSimulator() as sim:
        yield sim


def _gateway(url: str) -> PolymarketGateway:
    return PolymarketGateway(venue_settings(url), record_health=False)


def test_the_simulator_tells_its_time_as_polymarket_does(skewed: VenueSimulator) -> None:
    skewed.clock = lambda: 1795260000.75
    gateway = _gateway(skewed.url)
    assert gateway.server_seconds() == Decimal(1795260000)  # a plain whole number, truncated
    assert gateway.server_time() == 1795260000


@pytest.mark.parametrize("skew", [90.0, -45.0, 0.0])
def test_the_offset_is_the_venues_time_minus_ours(skewed: VenueSimulator, skew: float) -> None:
    skewed.clock = lambda: time.time() + skew
    gateway = _gateway(skewed.url)
    offset = gateway.clock.offset().total_seconds()
    assert abs(offset - skew) <= TOLERANCE
    assert abs(gateway.clock.now() - (time.time() + skew)) <= TOLERANCE
    reading = gateway.clock.reading()
    assert reading.offset_seconds == pytest.approx(offset, abs=1e-6)
    assert reading.error == ""
    exported = REGISTRY.get_sample_value("polyhunter_venue_clock_offset_seconds")
    assert exported == pytest.approx(offset, abs=1e-6)


def test_l1_and_l2_headers_carry_the_venues_time_so_a_skewed_host_is_not_refused(skewed: VenueSimulator) -> None:
    # 90 s ahead: far outside the venue's 30 s window for this host's own clock.
    skewed.reset({"balances": [{"address": ADDRESS_0, "pusd": "12"}]})
    skewed.clock = lambda: time.time() + 90
    gateway = _gateway(skewed.url)
    creds = custody_derive(private_key=KEY_0, venue=gateway.venue).credentials  # L1
    balance = gateway.balance_allowance(creds=creds, address=ADDRESS_0, asset_type="COLLATERAL", signature_type=0)
    assert balance.balance == Decimal(12)  # L2


def test_one_measurement_serves_every_thread_until_it_is_due_again() -> None:
    local = LocalVenue()
    local.route("GET", "/time", lambda _request: Reply(body=int(time.time()) + 30, delay=0.3))
    with serve(local):
        clock = PolymarketGateway(venue_settings(local.url, read="5"), record_health=False).clock
        start = threading.Barrier(8)
        offsets: list[float] = []

        def read() -> None:
            start.wait()
            offsets.append(clock.offset().total_seconds())

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert local.hits["/time"] == 1
        assert len(offsets) == 8
        assert len(set(offsets)) == 1
        clock.offset()
        assert clock.wait_idle(10)
        assert local.hits["/time"] == 1  # cached for a minute


def test_a_due_offset_is_measured_again_off_the_callers_path() -> None:
    local = LocalVenue()
    local.route("GET", "/time", lambda _request: Reply(body=int(time.time()) + 30))
    with serve(local):
        gateway = _gateway(local.url)
        clock = VenueClock(read_time=gateway.server_seconds, ttl_seconds=0.01)
        first = clock.offset().total_seconds()
        local.route("GET", "/time", lambda _request: Reply(body=int(time.time()) + 60))
        time.sleep(0.05)  # due again
        assert clock.offset().total_seconds() == first  # the caller does not wait for /time
        assert clock.wait_idle(10)
        assert abs(clock.offset().total_seconds() - 60) <= TOLERANCE
    assert abs(first - 30) <= TOLERANCE


def test_a_failing_time_keeps_the_last_offset_within_the_trust_bound(caplog: pytest.LogCaptureFixture) -> None:
    local = LocalVenue()
    local.route("GET", "/time", Reply(body=int(time.time()) - 20))
    with serve(local):
        gateway = _gateway(local.url)
        clock = VenueClock(read_time=gateway.server_seconds, ttl_seconds=0.01, retry_seconds=0.01)
        first = clock.offset()
        local.route("GET", "/time", Reply(status=500, body={"error": "Internal Server Error"}))
        time.sleep(0.05)  # the measurement is due again
        with caplog.at_level(logging.WARNING, logger="execution.venue.clock"):
            assert clock.offset() == first  # at once; measured again in the background
            assert clock.wait_idle(10)
        assert local.hits["/time"] == 2
        reading = clock.reading()
    assert "GET /time failed" in caplog.text
    assert "the last offset is kept" in caplog.text
    assert reading.offset_seconds == pytest.approx(first.total_seconds(), abs=1e-6)
    assert "venue_unavailable" in reading.error


def test_without_a_trusted_offset_there_is_no_venue_time(caplog: pytest.LogCaptureFixture) -> None:
    local = LocalVenue()
    local.route("GET", "/time", Reply(body=int(time.time())))
    with serve(local):
        gateway = _gateway(local.url)
        clock = VenueClock(read_time=gateway.server_seconds, ttl_seconds=0.01, retry_seconds=0.01, trust_seconds=0.02)
        clock.offset()
        local.route("GET", "/time", Reply(status=503, body={"error": "down"}))
        time.sleep(0.05)  # past the trust bound: the old offset is not used, a new one is waited for
        with caplog.at_level(logging.WARNING, logger="execution.venue.clock"), pytest.raises(VenueClockUnknown):
            clock.offset()
    assert "copying waits until it answers" in caplog.text
    with pytest.raises(VenueClockUnknown):
        clock.now()
    assert clock.reading().offset_seconds is None


def test_a_venue_that_never_answered_has_no_time() -> None:
    local = LocalVenue()
    with serve(local):  # no /time route: 404
        gateway = _gateway(local.url)
        with pytest.raises(VenueClockUnknown, match="no trusted venue time"):
            gateway.clock.offset()
        reading = gateway.clock.reading()
    assert (reading.offset_seconds, reading.age_seconds) == (None, None)
    assert "404" in reading.error


@pytest.mark.parametrize(
    ("body", "seconds"),
    [
        (1795260000, Decimal(1795260000)),
        ("1795260000", Decimal(1795260000)),
        ({"time": Decimal("17.5")}, Decimal("17.5")),
    ],
)
def test_time_answers_are_read_as_seconds(body: object, seconds: Decimal) -> None:
    assert parse_server_time(body) == seconds


@pytest.mark.parametrize("body", [True, None, "soon", -5, {"time": "NaN"}, [1]])
def test_unreadable_time_answers_are_refused(body: object) -> None:
    with pytest.raises(UnexpectedAnswer):
        parse_server_time(body)
