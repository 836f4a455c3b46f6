"""Runtime checks behind ``check_config``: what the process can actually reach and use."""

from __future__ import annotations

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.utils import Error as DatabaseError

from polyhunter.log_redaction import redact


def runtime_problems() -> list[str]:
    problems: list[str] = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        problems.append(f"DATABASE_URL: cannot connect ({exc.__class__.__name__}: {redact(str(exc).strip())[:200]})")
    if settings.REDIS_URL:
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            problems.append(f"REDIS_URL: cannot reach Redis ({exc.__class__.__name__})")
        else:
            eviction = redis_eviction_problem(settings.REDIS_URL)
            if eviction is not None:
                problems.append(eviction)
    try:
        from accounts.keyring import get_keyring

        get_keyring()
    except ImproperlyConfigured as exc:
        problems.append(str(exc))
    return problems


def redis_eviction_problem(url: str) -> str | None:
    """Why this Redis must not carry the broker, or None.

    Anything but ``noeviction`` lets a full Redis drop queued messages silently. A Redis that
    cannot be reached, or that refuses CONFIG (some managed services), is not judged here: the
    connection problem is reported elsewhere, and a refused CONFIG cannot tell us the policy.
    """
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.ResponseError:
        return None
    except redis.RedisError:
        return None
    finally:
        client.close()
    if policy in (None, "noeviction"):
        return None
    return (
        f"REDIS_URL: Redis has maxmemory-policy {policy!r}; the broker needs 'noeviction' "
        "(with any other policy a full Redis silently drops queued messages)"
    )
