"""Start-up checks of the processes that run on the broker (Django system checks).

The worker pools (``rundramatiq``) and the scheduler (``run_scheduler``, or dramatiq-crontab's
``crontab``) refuse to start on a Redis whose
``maxmemory-policy`` is anything but ``noeviction``: with an eviction policy, a full Redis drops
queued messages and the rate limits without a word (scenario S16, docs/reliability.md), while with
``noeviction`` a full Redis refuses the write and the sender sees the error. Other commands
(``migrate``, the web process, tests) are not held back by it; ``check_config`` reports it too.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

# The Procfile's long-running processes that consume or feed the broker.
BROKER_COMMANDS = frozenset({"rundramatiq", "run_scheduler", "crontab"})


def running_command(argv: list[str] | None = None) -> str:
    """The management command this process runs (``manage.py <command>``), or ''."""
    args = sys.argv if argv is None else argv
    return args[1] if len(args) > 1 and args[0].endswith("manage.py") else ""


@register("broker")
def redis_evicts_nothing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.REDIS_URL or running_command() not in BROKER_COMMANDS:
        return []
    from polyhunter.diagnostics import redis_eviction_problem

    problem = redis_eviction_problem(settings.REDIS_URL)
    if problem is None:
        return []
    return [
        Error(
            problem,
            hint="Set maxmemory-policy noeviction on this Redis (CONFIG SET or redis.conf), then start again.",
            id="polyhunter.E001",
        )
    ]
