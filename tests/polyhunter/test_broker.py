"""An actor round trip through the configured broker: Redis in CI, in-process by default."""

from __future__ import annotations

import threading
import time

import dramatiq
import pytest
from django.conf import settings

from copytrading.models import Deployment
from copytrading.tasks import record_heartbeat
from polyhunter.broker import stop_worker
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


def test_a_stopped_worker_starts_no_consumer_for_a_queue_declared_later(broker: dramatiq.Broker) -> None:
    """Dramatiq's Worker.stop leaves its middleware on the broker, which would start a consumer
    for every queue declared afterwards (per-deployment lanes are declared at run time)."""
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=1)
    worker.start()
    stop_worker(worker)
    before = {t for t in threading.enumerate() if type(t).__name__ == "ConsumerThread"}
    broker.declare_queue("late.copies")
    after = {t for t in threading.enumerate() if type(t).__name__ == "ConsumerThread"}
    assert after - before == set()
    assert "late.copies" not in worker.consumers
