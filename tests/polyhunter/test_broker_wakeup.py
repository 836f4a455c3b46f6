"""The Redis broker's consumer: an idle consumer returns when a message arrives, not when its
backoff ends, and closing it hands back what it fetched and never delivered (needs Redis: CI sets
REDIS_URL; the embedded default has no Redis broker)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
from django.conf import settings

from polyhunter.broker import WakingRedisBroker

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis broker needs REDIS_URL (CI sets it)")


@pytest.fixture
def waking() -> Iterator[WakingRedisBroker]:
    broker = WakingRedisBroker(  # type: ignore[no-untyped-call]  # dramatiq's __init__ is untyped
        url=settings.REDIS_URL, namespace=f"wake-test-{uuid.uuid4().hex[:8]}"
    )
    broker.declare_queue("q")
    yield broker
    broker.flush_all()
    broker.client.delete(broker.wake_key("q"))
    broker.close()


def test_an_idle_consumer_is_woken_by_a_new_message_long_before_its_backoff_ends(waking: WakingRedisBroker) -> None:
    consumer = waking.consume("q", prefetch=2, timeout=60_000)
    consumer.misses = 40  # type: ignore[attr-defined]  # long idle: the next empty fetch waits 30-60 s
    returned = threading.Event()

    def idle_fetch() -> None:
        assert next(consumer) is None
        returned.set()

    waiting = threading.Thread(target=idle_fetch, daemon=True)
    waiting.start()
    assert not returned.wait(0.3)  # it waits (there is nothing to fetch)
    message: dramatiq.Message[None] = dramatiq.Message(queue_name="q", actor_name="a", args=(1,), kwargs={}, options={})
    waking.enqueue(message)
    assert returned.wait(10), "the consumer slept through the wake-up"
    fetched = next(consumer)
    assert fetched is not None
    assert fetched.message_id == message.message_id
    consumer.ack(fetched)
    consumer.close()


def test_wake_ups_are_capped_and_expire(waking: WakingRedisBroker) -> None:
    for n in range(3 * WakingRedisBroker.WAKE_TOKENS):
        waking.enqueue(dramatiq.Message[None](queue_name="q", actor_name="a", args=(n,), kwargs={}, options={}))
    key = waking.wake_key("q")
    assert waking.client.llen(key) == WakingRedisBroker.WAKE_TOKENS
    assert 0 < waking.client.pttl(key) <= WakingRedisBroker.WAKE_TTL_MS


def test_closing_a_consumer_hands_back_the_messages_it_fetched_and_never_delivered(waking: WakingRedisBroker) -> None:
    for n in range(4):
        waking.enqueue(dramatiq.Message[None](queue_name="q", actor_name="a", args=(n,), kwargs={}, options={}))
    consumer = waking.consume("q", prefetch=3, timeout=100)
    delivered = next(consumer)  # one fetch of three: one delivered, two left in the consumer's cache
    assert delivered is not None
    acks = [key for key in waking.client.scan_iter(match=f"{waking.namespace}:__acks__.*.q")]
    assert sum(int(waking.client.scard(key)) for key in acks) == 3

    consumer.ack(delivered)
    consumer.close()

    assert sum(int(waking.client.scard(key)) for key in acks) == 0
    assert waking.client.llen(f"{waking.namespace}:q") == 3
