"""The Procfile's ``scheduler``: the periodic jobs, one scheduler at a time (polyhunter/scheduler.py)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError
from dramatiq_crontab import scheduler

from polyhunter.scheduler import job_queue, lock_keeper, scheduled_jobs_load, scheduler_lock, scheduler_lock_wait

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (dramatiq-crontab) under a Redis lock that survives a Redis restart; "
        "exits 0 on SIGTERM/SIGINT, non-zero on any other end."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def interrupt(signum: int, frame: FrameType | None) -> None:
            stop.set()
            raise KeyboardInterrupt(signal.Signals(signum).name)

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, interrupt)
        jobs = scheduled_jobs_load()
        for job in jobs:
            self.stdout.write(f"scheduled {job.name} -> queue {job_queue(job)} ({job.trigger})")
        lock = scheduler_lock()
        keeper = None
        try:
            if lock is not None:
                self.stdout.write("taking the scheduler lock")
                if not scheduler_lock_wait(lock, stop=stop, say=self.stdout.write):
                    return
            if lock is not None:
                keeper = lock_keeper(lock, say=self.stdout.write)
                keeper.start()
            self.stdout.write(self.style.SUCCESS("scheduler started"))
            scheduler.start()
        except KeyboardInterrupt as why:
            self.stdout.write(f"stopping ({why})")
            if scheduler.running:
                scheduler.shutdown(wait=False)
            return
        finally:
            if keeper is not None:
                keeper.stopping.set()
            if lock is not None:
                _release(lock)
        # The scheduler returned without a signal: its lock keeper stopped it.
        failure = keeper.failed if keeper is not None else None
        raise CommandError(f"the scheduler stopped: {failure!r}")


def _release(lock: Any) -> None:
    try:
        if lock.owned():
            lock.release()
    except redis.RedisError as exc:  # Redis may be gone: the lock then expires by itself
        log.warning("scheduler lock not released: %s", exc)
