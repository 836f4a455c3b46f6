"""Suite-wide fixtures: real services when configured, loud failure when they are unreachable."""

from __future__ import annotations

import os
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from django.conf import settings

# The local chain's fixtures (`local_chain`, `chain`): tests/chain.py.
pytest_plugins = ["tests.chain"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """DATABASE_URL/REDIS_URL set but unreachable fails the run: tests never silently skip them."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql")):
        import psycopg

        db = settings.DATABASES["default"]
        try:
            psycopg.connect(
                host=db["HOST"],
                port=db.get("PORT") or 5432,
                user=db["USER"],
                password=db.get("PASSWORD") or None,
                dbname="postgres",
                connect_timeout=5,
            ).close()
        except psycopg.Error as exc:
            pytest.exit(f"DATABASE_URL is set but PostgreSQL is unreachable: {exc}", returncode=3)
    if settings.REDIS_URL:
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5).ping()
        except redis.RedisError as exc:
            pytest.exit(f"REDIS_URL is set but Redis is unreachable: {exc}", returncode=3)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: the circuit breaker counts venue answers there, and
    one test's lost answers must not open the breaker for the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def broker() -> Iterator[dramatiq.Broker]:
    """The configured broker (Redis in CI, in-process otherwise), emptied around the test."""
    from polyhunter.broker import import_task_modules

    import_task_modules()
    current = dramatiq.get_broker()
    current.flush_all()
    yield current
    current.flush_all()


@pytest.fixture
def worker(broker: dramatiq.Broker) -> Iterator[dramatiq.Worker]:
    """A real Dramatiq worker consuming the configured broker in this process."""
    from polyhunter.broker import stop_worker

    running = dramatiq.Worker(broker, worker_timeout=100, worker_threads=2)
    running.start()
    yield running
    stop_worker(running)
