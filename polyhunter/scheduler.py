"""The scheduler process: dramatiq-crontab's periodic jobs, run by one process at a time under a
Redis lock that outlives a Redis restart.

dramatiq-crontab's own ``crontab`` command gives up as soon as it cannot extend its lock — after a
Redis restart the key is simply gone — and exits 0 ("the lock is no longer owned"), so a process
manager that restarts only on failure left reconcile, sweep and detection stopped. Here the lock is
kept by a thread: when it cannot be extended, the jobs pause and the thread takes the lock again
as soon as it can (at once after a restart, when the holder has gone otherwise); another
scheduler that took it meanwhile keeps running and this one waits as a stand-by. An unexpected
failure of the keeper stops the process with a non-zero status.

dramatiq-crontab also schedules a ``heartbeat`` actor on the ``default`` queue, which no worker of
the Procfile consumes: its messages piled up. Our own sign of life is the deployments' heartbeat
(``platform_tick`` → ``reconcile_deployment``), so that job is dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis
from apscheduler.schedulers.base import STATE_STOPPED
from django.conf import settings
from dramatiq_crontab import scheduler
from redis.exceptions import LockError

from polyhunter.broker import import_task_modules

log = logging.getLogger(__name__)

LOCK_NAME = "dramatiq-scheduler"  # dramatiq-crontab's key: the old and the new command exclude each other


def scheduled_jobs_load() -> list[Any]:
    """Declare every app's actors and their schedules; returns the scheduler's jobs, without
    dramatiq-crontab's heartbeat (it sends to a queue nobody consumes)."""
    import_task_modules()
    from dramatiq_crontab.tasks import heartbeat  # imported by the discovery above: it is scheduled

    for job in scheduler.get_jobs():
        if job.func == heartbeat.send:
            job.remove()
    return list(scheduler.get_jobs())


def job_queue(job: Any) -> str:
    """The queue a scheduled job sends to (its actor's)."""
    return str(job.func.__self__.queue_name)


class LockKeeper(threading.Thread):
    """Holds the scheduler lock: extends it, and when that fails pauses the jobs and takes the lock
    back as soon as it can. ``failed`` is set (and the scheduler stopped) on an unexpected error."""

    def __init__(self, lock: Any, *, timeout_s: float, refresh_s: float, say: Callable[[str], None]) -> None:
        super().__init__(name="scheduler-lock", daemon=True)
        self.lock = lock
        self.timeout_s = timeout_s
        self.refresh_s = refresh_s
        self.say = say
        self.holding = True
        self.failed: BaseException | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.refresh_s):
                self.keep()
        except BaseException as exc:  # the process must stop, non-zero
            self.failed = exc
            log.exception("the scheduler lock keeper failed")
            if scheduler.state != STATE_STOPPED:
                scheduler.shutdown(wait=False)

    def keep(self) -> None:
        if self.holding:
            try:
                self.lock.extend(self.timeout_s, replace_ttl=True)
                return
            except (LockError, redis.RedisError) as exc:
                self.holding = False
                _pause()
                self.say(f"scheduler lock lost ({type(exc).__name__}: {exc}); jobs paused, taking it back")
        try:
            if self.lock.owned():  # still ours (Redis was only unreachable): keep it
                self.lock.extend(self.timeout_s, replace_ttl=True)
            elif not self.lock.acquire(blocking=False):
                return  # another scheduler holds it: stand by
        except (LockError, redis.RedisError) as exc:
            log.warning("scheduler lock not taken yet: %s", exc)
            return
        self.holding = True
        _resume()
        self.say("scheduler lock held again; jobs resumed")


def _pause() -> None:
    if scheduler.state != STATE_STOPPED:
        scheduler.pause()


def _resume() -> None:
    if scheduler.state != STATE_STOPPED:
        scheduler.resume()


def scheduler_lock() -> Any:
    """The Redis lock of the scheduler, or None without Redis (embedded: a single process)."""
    conf = getattr(settings, "DRAMATIQ_CRONTAB", {})
    url = conf.get("REDIS_URL")
    if not url:
        return None
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    return client.lock(LOCK_NAME, timeout=_lock_timeout(), thread_local=False)


def _lock_timeout() -> float:
    return float(getattr(settings, "DRAMATIQ_CRONTAB", {}).get("LOCK_TIMEOUT", 10))


def lock_refresh_seconds() -> float:
    return float(getattr(settings, "DRAMATIQ_CRONTAB", {}).get("LOCK_REFRESH_INTERVAL", 5))


def scheduler_lock_wait(lock: Any, *, stop: threading.Event, say: Callable[[str], None]) -> bool:
    """Block until this process holds the lock (True) or ``stop`` is set (False); Redis being
    unreachable is waited out, not fatal."""
    announced = False
    while not stop.is_set():
        try:
            if lock.acquire(blocking=True, blocking_timeout=lock_refresh_seconds()):
                return True
            if not announced:
                say("another scheduler holds the lock: standing by")
                announced = True
        except redis.RedisError as exc:
            log.warning("Redis unreachable while taking the scheduler lock: %s", exc)
            stop.wait(lock_refresh_seconds())
    return False


def lock_keeper(lock: Any, *, say: Callable[[str], None]) -> LockKeeper:
    return LockKeeper(lock, timeout_s=_lock_timeout(), refresh_s=lock_refresh_seconds(), say=say)
