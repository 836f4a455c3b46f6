"""Redis and PostgreSQL instances of a scenario's own (``soak/services.py``), for the scenarios that
crash, restart or fill them (S14-S17): the machine's shared servers are never touched. Each gets
a free port and a directory under ``var/test-services/``.

The test process reaches its own Redis through a broker of its own (``own_broker``); the worker
and scheduler processes it starts get ``REDIS_URL`` pointing there. A scenario that needs its own
PostgreSQL runs its body inside ``database_at(url)``, which points this process's connection at it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dramatiq
import pytest
from django.db import connection

from polyhunter.broker import WakingRedisBroker
from soak.services import OwnPostgres, OwnRedis, postgres_bindir
from tests.copytrading.reliability.harness import ROOT

SERVICES = ROOT / "var" / "test-services"


def service_root() -> Path:
    return SERVICES / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def need(program: str) -> None:
    """These scenarios start servers of their own: without the programs they cannot run at all."""
    if program == "postgres":
        try:
            postgres_bindir()
        except RuntimeError:
            pytest.skip("PostgreSQL server programs are not installed (.ci/run installs them)")
    elif shutil.which(program) is None:
        pytest.skip(f"{program} is not installed (.ci/run installs it)")


@contextmanager
def redis_server(**options: Any) -> Iterator[OwnRedis]:
    need("redis-server")
    root = service_root()
    try:
        with OwnRedis(root, **options) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


def broker_on(server: OwnRedis) -> WakingRedisBroker:
    """A broker of this process on the scenario's own Redis (sends and inspects; runs no worker)."""
    broker = WakingRedisBroker(url=server.url())  # type: ignore[no-untyped-call]
    for queue in ("shared.copies", "shared.reconcile", "shared.settle", "shared.fanout", "platform"):
        broker.declare_queue(queue)
    return broker


def send(broker: dramatiq.Broker, actor: dramatiq.Actor[..., Any], queue: str, *args: Any) -> None:
    broker.declare_queue(queue)
    broker.enqueue(actor.message(*args).copy(queue_name=queue))


class Ticker:
    """Stands in for the scheduler: asks the shared deployment's workers to sweep, recover and
    confirm fills every second, as ``platform_tick`` does every two (the scheduler itself is
    S15's other test)."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from copytrading.tasks import reconcile_deployment, settle_deployment

        while not self.stopping.wait(1.0):
            try:
                send(self.broker, reconcile_deployment, "shared.reconcile", "shared")
                send(self.broker, settle_deployment, "shared.settle", "shared")
            except Exception:  # noqa: S112  (Redis restarting: the next tick will do)
                continue

    def __enter__(self) -> Ticker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)


def queue_length(server: OwnRedis, queue: str) -> int:
    return int(server.client().llen(f"dramatiq:{queue}"))


def unacked(server: OwnRedis, queue: str) -> int:
    """Messages fetched by some worker and not acknowledged (in flight, prefetched or stranded)."""
    client = server.client()
    return sum(int(client.scard(key)) for key in client.scan_iter(match=f"dramatiq:__acks__.*.{queue}"))


@contextmanager
def postgres_server() -> Iterator[OwnPostgres]:
    need("postgres")
    root = service_root()
    server = OwnPostgres(root)
    try:
        with server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


def migrated_database(server: OwnPostgres, name: str) -> str:
    """A database on the scenario's own server, migrated like production's; returns its URL."""
    server.create_database(name)
    url = server.url(name)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"} | {"DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return url


@contextmanager
def database_at(url: str) -> Iterator[None]:
    """Point this process's default connection at another PostgreSQL database for the block."""
    if connection.vendor != "postgresql":
        pytest.skip("needs the suite on PostgreSQL (DATABASE_URL=postgres://…)")
    parts = urlsplit(url)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(
        NAME=parts.path.lstrip("/"), HOST=parts.hostname, PORT=parts.port, USER=parts.username, PASSWORD=""
    )
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
