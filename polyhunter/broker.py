"""Broker helpers: task discovery, stopping an in-process worker, sending to a run-time queue, and
the Redis broker with push wake-ups the workers use (``WakingRedisBroker``)."""

from __future__ import annotations

import time
from typing import Any

import dramatiq
import redis
from django.db import InterfaceError, OperationalError
from django.utils.module_loading import autodiscover_modules
from dramatiq import Consumer, Message, MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff
from dramatiq.errors import ConnectionClosed


def import_task_modules() -> None:
    """Import every app's tasks.py so each actor (and its queue) is declared on the broker."""
    autodiscover_modules("tasks")


def stop_worker(worker: dramatiq.Worker, *, timeout_ms: int = 600_000) -> None:
    """Stop an in-process worker for good.

    ``Worker.stop`` leaves the worker's middleware on the broker, and that middleware starts a
    consumer for every queue declared later (``send_to_queue`` declares per-deployment lanes):
    a stopped worker would grow consumer threads that fetch messages nobody processes.
    """
    worker.stop(timeout=timeout_ms)
    worker.broker.middleware[:] = [m for m in worker.broker.middleware if getattr(m, "worker", None) is not worker]


# Retries of a message that met a database outage: 0.25, 0.5, 1, 2, 4, 8, 10, 10 s (dramatiq adds
# jitter), about half a minute in all -- a PostgreSQL restart or failover, not a broken schema.
DATABASE_RETRIES = 8
DATABASE_MIN_BACKOFF_MS = 250
DATABASE_MAX_BACKOFF_MS = 10_000


def retry_database_outage(retries: int, exception: BaseException) -> bool:
    """``retry_when`` for actors that are safe to run again: retry only what the database did not
    do (connection refused or cut, the server restarting, a deadlock or serialization failure --
    the transaction rolled back), a bounded number of times. Any other error fails the message."""
    return retries < DATABASE_RETRIES and isinstance(exception, OperationalError | InterfaceError)


def send_to_queue(
    actor: dramatiq.Actor[..., Any] | str, queue_name: str, *args: Any, delay_ms: int | None = None
) -> None:
    """Send a message for ``actor`` to a queue chosen at run time (per-deployment lanes), now or
    after ``delay_ms`` (dramatiq's delay queue, consumed by the same workers).

    Dramatiq binds an actor to one queue at declaration; RUN_MODE routing needs the same actor
    on several queues (``<deployment>.copies``, ``<deployment>.exits``, …). A service names its
    actor by ``actor_name`` when the actor's module imports that service (no import loop); the
    worker finds the actor by that name.
    """
    if isinstance(actor, str):
        broker = dramatiq.get_broker()
        message: Message[Any] = Message(queue_name=queue_name, actor_name=actor, args=args, kwargs={}, options={})
    else:
        broker = actor.broker
        message = actor.message(*args).copy(queue_name=queue_name)
    broker.declare_queue(queue_name)
    broker.enqueue(message, delay=delay_ms or None)


class WakingRedisBroker(RedisBroker):
    """Dramatiq's Redis broker, with idle consumers woken by new messages instead of polling.

    The stock consumer sleeps up to the worker's idle timeout (100 ms) between empty fetches, so
    after a quiet moment every hop through a queue can add up to that much latency: two hops
    (fan-out, then execute) before the first copy leaves. Here an idle consumer waits on a
    per-queue wake-up list with ``BLPOP`` for the same time instead, and each enqueue pushes a
    token to it: one waiting consumer returns at once and fetches. Fetching, acking, requeueing
    and every key of the queue itself are dramatiq's own; the wake-up list only shortens waits
    (a lost or extra token costs at most one empty fetch), and it is capped and expires.
    """

    WAKE_TOKENS = 8  # at most this many pending wake-ups per queue
    WAKE_TTL_MS = 60_000

    @property
    def consumer_class(self) -> type[Consumer]:
        return _WakingConsumer

    def wake_key(self, queue_name: str) -> str:
        return f"{self.namespace}:__wake__:{queue_name}"

    def enqueue(self, message: dramatiq.Message[Any], *, delay: int | None = None) -> dramatiq.Message[Any]:
        sent = super().enqueue(message, delay=delay)
        if delay is None:  # delayed messages wait for their time in the delay queue anyway
            key = self.wake_key(sent.queue_name)
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(key, b"1")
            pipe.ltrim(key, 0, self.WAKE_TOKENS - 1)
            pipe.pexpire(key, self.WAKE_TTL_MS)
            pipe.execute()
        return sent


class _WakingConsumer(_RedisConsumer):
    """``_RedisConsumer.__next__`` (dramatiq 2.2) with the idle sleep replaced by a BLPOP, and a
    ``close`` that hands back what was fetched but never handed to the worker."""

    def close(self) -> None:
        # A graceful stop keeps the consumer fetching while the worker threads finish: messages
        # fetched in that time sit in ``message_cache`` and dramatiq's consumer does not requeue
        # them -- they would wait in this worker's ack set until its heartbeat is declared dead
        # (a minute), delaying those copies by that much on every deploy.
        cached, self.message_cache = self.message_cache, []
        ids = [Message.decode(data).options["redis_message_id"] for data in cached if data is not None]
        try:
            if ids:
                self.broker.do_requeue(self.queue_name, *ids)
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]
        finally:
            super().close()

    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                try:
                    data = self.message_cache.pop(0)
                    if data is None:
                        continue
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                except IndexError:
                    messages = []
                    if self.outstanding_message_count < self.prefetch:
                        self.message_cache = messages = self.broker.do_fetch(
                            self.queue_name, self.prefetch - self.outstanding_message_count
                        )
                    if not messages:
                        self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                        if self.outstanding_message_count < self.prefetch:
                            # BLPOP's timeout is in seconds; 0 would mean "forever".
                            self.broker.client.blpop([self.broker.wake_key(self.queue_name)], max(backoff_ms, 1) / 1000)
                        else:
                            time.sleep(backoff_ms / 1000)
                        return None
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]
