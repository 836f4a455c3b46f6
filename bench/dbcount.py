"""Database round trips per Dramatiq message, counted inside the worker processes (bench only).

``QueryCounter`` is a Dramatiq middleware that ``bench/settings.py`` adds to the broker of the
benchmark's workers (production settings never load it). Around each message it installs
``connection.execute_wrapper`` on the worker thread's connection and counts:

- ``statements``: every SQL statement the ORM sent (each one is a round trip);
- ``transactions``: statements that opened a transaction (psycopg sends ``BEGIN`` first, one
  more round trip, and the block ends with ``COMMIT``, another), so a transaction costs two;
- ``health_checks``: the ``SELECT 1`` Django runs on a reused connection at the first query of
  a message when ``CONN_HEALTH_CHECKS`` is on (it bypasses execute wrappers);
- ``connects``: messages that had to open a new connection;
- ``rows``: copy trades named by an ``execute_copy_trades`` message.

Counts go to a Redis hash (the workers are other processes) or, without Redis, to a dict in
this process (the in-process smoke test).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import dramatiq
from django.conf import settings
from django.db import connection
from dramatiq.middleware import Middleware

HASH = "polyhunter:bench:db"
FIELDS = ("messages", "rows", "statements", "transactions", "health_checks", "connects")

_local_counts: Counter[str] = Counter()
_local_lock = threading.Lock()
_redis: Any = None


def _client() -> Any:
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


def counts_add(actor: str, values: Mapping[str, int]) -> None:
    if settings.REDIS_URL:
        pipe = _client().pipeline(transaction=False)
        for name, value in values.items():
            if value:
                pipe.hincrby(HASH, f"{actor}:{name}", value)
        pipe.execute()
        return
    with _local_lock:
        for name, value in values.items():
            _local_counts[f"{actor}:{name}"] += value


def counts_reset() -> None:
    if settings.REDIS_URL:
        _client().delete(HASH)
    with _local_lock:
        _local_counts.clear()


def counts_read() -> dict[str, dict[str, int]]:
    """{actor: {field: total}} since the last reset."""
    if settings.REDIS_URL:
        raw = {k.decode(): int(v) for k, v in _client().hgetall(HASH).items()}
    else:
        with _local_lock:
            raw = dict(_local_counts)
    out: dict[str, dict[str, int]] = {}
    for key, value in raw.items():
        actor, _, name = key.rpartition(":")
        out.setdefault(actor, dict.fromkeys(FIELDS, 0))[name] = value
    return out


class _Counting:
    """The execute wrapper of one message on one thread."""

    def __init__(self) -> None:
        self.statements = 0
        self.transactions = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Mapping[str, Any]
    ) -> Any:
        self.statements += 1
        raw = context["connection"].connection
        info = getattr(raw, "info", None)
        if info is not None and not raw.autocommit and info.transaction_status == 0:  # psycopg: IDLE
            self.transactions += 1
        return execute(sql, params, many, context)


class QueryCounter(Middleware):
    def __init__(self) -> None:
        self._local = threading.local()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        counting = _Counting()
        wrapper = connection.execute_wrapper(counting)
        wrapper.__enter__()
        # Runs after DbConnectionsMiddleware.close_old_connections: a kept connection is due a check.
        fresh = connection.connection is None
        due = not fresh and getattr(connection, "health_check_enabled", False) and not _checked()
        self._local.state = (wrapper, counting, fresh, due)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        state = getattr(self._local, "state", None)
        if state is None:
            return
        self._local.state = None
        wrapper, counting, fresh, due = state
        wrapper.__exit__(None, None, None)
        used = counting.statements > 0
        rows = 0
        if message.actor_name == "execute_copy_trades" and message.args:
            rows = len(message.args[0])
        counts_add(
            message.actor_name,
            {
                "messages": 1,
                "rows": rows,
                "statements": counting.statements,
                "transactions": counting.transactions,
                "health_checks": int(due and used and _checked()),
                "connects": int(fresh and used),
            },
        )

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self.after_process_message(broker, message)


def _checked() -> bool:
    return bool(getattr(connection, "health_check_done", False))
