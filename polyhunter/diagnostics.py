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
    try:
        from accounts.keyring import get_keyring

        get_keyring()
    except ImproperlyConfigured as exc:
        problems.append(str(exc))
    return problems
