"""/healthz stays trivial; /readyz tells whether the platform can copy, and goes non-200 when a
dependency is stopped or stale: the venue killed, detection stopped, the kill switch flipped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from copytrading.detection.service import detection_poll
from copytrading.tasks import platform_tick
from execution.simulator import VenueSimulator
from execution.switches import switch_set
from execution.venue.gateway import default_gateway
from tests.copytrading.pipeline.conftest import SCENARIO, follow
from tests.factories import make_account, shared_deployment

pytestmark = pytest.mark.django_db


@pytest.fixture
def venue() -> Iterator[VenueSimulator]:
    """A venue of the test's own, so it can be killed."""
    running = VenueSimulator(SCENARIO).start()
    with override_settings(POLYMARKET_CLOB_URL=running.url, POLYMARKET_DATA_URL=running.url):
        default_gateway.cache_clear()
        yield running
    running.stop()
    default_gateway.cache_clear()


def ready(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    body: dict[str, Any] = response.json()
    return response.status_code, body


def healthy() -> None:
    shared_deployment()
    platform_tick()  # the scheduler's tick: its heartbeat


def test_liveness_answers_without_touching_anything(client: Client) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_platform_that_can_copy_is_ready_and_says_why(client: Client, venue: VenueSimulator) -> None:
    healthy()
    status, body = ready(client)
    assert status == 200, body
    assert body["ready"] is True
    names = set(body["checks"])
    assert {"database", "venue", "clock", "scheduler", "kill_switch", "pause_copies", "exits_only", "breaker"} <= names
    assert ("redis" in names) == bool(settings.REDIS_URL)
    assert all(check["state"] == "ok" for check in body["checks"].values())
    assert body["checks"]["scheduler"]["age_seconds"] < 30


def test_killing_the_venue_makes_the_platform_not_ready(client: Client, venue: VenueSimulator) -> None:
    healthy()
    assert ready(client)[0] == 200
    venue.stop()
    status, body = ready(client)
    assert status == 503
    assert body["checks"]["venue"]["state"] == "down"


def test_a_venue_speaking_another_order_version_makes_the_platform_not_ready(
    client: Client, venue: VenueSimulator
) -> None:
    healthy()
    venue.set_version(3)
    status, body = ready(client)
    assert (status, body["checks"]["venue"]["state"]) == (503, "refused")


def test_stopped_detection_makes_the_platform_not_ready(client: Client, venue: VenueSimulator) -> None:
    healthy()
    leader = follow(make_account()).leader
    status, body = ready(client)
    assert (status, body["checks"]["detection:data_api"]["state"]) == (503, "missing")
    detection_poll(wallet_id=leader.id)  # detection runs: one poll of the followed leader
    status, body = ready(client)
    assert status == 200, body
    # Detection stops; the scheduler keeps ticking.
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        platform_tick()
        status, body = ready(client)
    assert status == 503
    check = body["checks"]["detection:data_api"]
    assert check["state"] == "stale"
    assert check["age_seconds"] > check["limit_seconds"]
    assert body["checks"]["scheduler"]["state"] == "ok"


def test_the_clock_check_reports_the_offset_and_flags_a_host_too_far_off(client: Client, venue: VenueSimulator) -> None:
    healthy()
    venue.clock = lambda: time.time() + 30  # the venue runs 30 s ahead of this host
    status, body = ready(client)
    check = body["checks"]["clock"]
    assert (status, check["state"], check["limit_seconds"]) == (503, "skewed", 5.0)
    assert abs(check["offset_seconds"] - 30) <= 1
    assert check["age_seconds"] is not None
    with override_settings(VENUE_CLOCK_MAX_OFFSET_SECONDS=60.0):
        status, body = ready(client)
    assert (status, body["checks"]["clock"]["state"]) == (200, "ok"), body


def test_no_readable_venue_time_makes_the_platform_not_ready(client: Client, venue: VenueSimulator) -> None:
    healthy()
    venue.add_fault("error_before", "GET /time", count=None)
    status, body = ready(client)
    assert status == 503
    assert body["checks"]["clock"] == {
        "state": "unknown",
        "age_seconds": None,
        "limit_seconds": 5.0,
        "offset_seconds": None,
    }
    assert body["checks"]["venue"]["state"] == "ok"


def test_a_silent_scheduler_makes_the_platform_not_ready(client: Client, venue: VenueSimulator) -> None:
    healthy()
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        status, body = ready(client)
    assert (status, body["checks"]["scheduler"]["state"]) == (503, "stale")


def test_the_kill_switch_makes_the_platform_not_ready(client: Client, venue: VenueSimulator) -> None:
    healthy()
    switch_set(name="kill_switch", engaged=True, actor="test", reason="drill")
    status, body = ready(client)
    assert status == 503
    assert body["checks"]["kill_switch"]["state"] == "engaged"
    assert body["checks"]["kill_switch"]["age_seconds"] is not None
    assert "drill" not in str(body)  # states and ages only, never staff's words


def test_an_unreachable_redis_makes_the_platform_not_ready(client: Client, venue: VenueSimulator) -> None:
    healthy()
    with override_settings(REDIS_URL="redis://127.0.0.1:9/0"):
        status, body = ready(client)
    assert (status, body["checks"]["redis"]["state"]) == (503, "down")
