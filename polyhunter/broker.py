"""Broker helpers: the in-process worker of the embedded mode and task discovery."""

from __future__ import annotations

from typing import Any

import dramatiq
from django.utils.module_loading import autodiscover_modules


def import_task_modules() -> None:
    """Import every app's tasks.py so each actor (and its queue) is declared on the broker."""
    autodiscover_modules("tasks")


def start_embedded_worker(*, threads: int = 4, queues: set[str] | None = None) -> dramatiq.Worker:
    """Run a Dramatiq worker inside this process (embedded mode and tests).

    ``worker_timeout=100`` ms: the idle poll; Dramatiq's default 1 s adds latency after idling.
    """
    import_task_modules()
    worker = dramatiq.Worker(dramatiq.get_broker(), worker_timeout=100, worker_threads=threads, queues=queues)
    worker.start()
    return worker


def send_to_queue(actor: dramatiq.Actor[..., Any], queue_name: str, *args: Any) -> None:
    """Send a message for ``actor`` to a queue chosen at run time (per-deployment lanes).

    Dramatiq binds an actor to one queue at declaration; RUN_MODE routing needs the same actor
    on several queues (``<deployment>.copies``, ``<deployment>.exits``, …).
    """
    broker = actor.broker
    broker.declare_queue(queue_name)
    broker.enqueue(actor.message(*args).copy(queue_name=queue_name))
