"""An actor round trip through the configured broker: Redis in CI, in-process by default."""

from __future__ import annotations

import time

import dramatiq
import pytest
from django.conf import settings

from copytrading.models import Deployment
from copytrading.tasks import record_heartbeat
from tests.factories import shared_deployment


@pytest.mark.django_db(transaction=True)
def test_an_actor_round_trips_through_the_configured_broker(broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
    expected = "WakingRedisBroker" if settings.REDIS_URL else "StubBroker"
    assert type(broker).__name__ == expected
    deployment = shared_deployment()
    record_heartbeat.send(deployment.key)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if Deployment.objects.get(id=deployment.id).heartbeat_at is not None:
            break
        time.sleep(0.05)
    assert Deployment.objects.get(id=deployment.id).heartbeat_at is not None


def test_task_messages_carry_ids_only() -> None:
    message = record_heartbeat.message("shared")
    assert message.args == ("shared",)
    assert message.kwargs == {}
