"""The Procfile's scheduler: what it schedules goes to queues a worker consumes, and it keeps
running (or fails loudly) when Redis restarts under it."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from polyhunter.scheduler import LOCK_NAME, job_queue, scheduled_jobs_load

ROOT = Path(__file__).resolve().parents[2]


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name.strip(): shlex.split(command) for name, _, command in (line.partition(":") for line in lines) if name}


def consumed_queues() -> set[str]:
    queues: set[str] = set()
    for command in procfile().values():
        if "--queues" in command:
            queues |= set(command[command.index("--queues") + 1 :])
    return queues


def test_every_scheduled_job_sends_to_a_queue_a_procfile_worker_consumes() -> None:
    """Issue 17, fix 4: dramatiq-crontab's ``crontab`` command schedules its ``heartbeat`` actor on
    the ``default`` queue, which no Procfile worker consumes, so its messages piled up in Redis.
    The Procfile's scheduler is ``run_scheduler``, which schedules only jobs somebody consumes."""
    assert procfile()["scheduler"][-1] == "run_scheduler"
    jobs = scheduled_jobs_load()
    names = {job.name for job in jobs}
    assert {"platform_tick", "positions_tick", "detect_tick"} <= names
    consumed = consumed_queues()
    for job in jobs:
        assert job_queue(job) in consumed, f"{job.name} sends to {job_queue(job)}, which no Procfile worker consumes"


def test_every_lane_of_the_shared_deployment_is_consumed_by_a_procfile_worker() -> None:
    """Recovery (``reconcile``) and fill confirmation (``settle``) are lanes of their own; a lane
    no worker consumes would stop that work silently."""
    from copytrading.models import Deployment

    lanes = Deployment(key=Deployment.SHARED_KEY, kind=Deployment.Kind.SHARED_BACKEND).queue_names
    assert {"shared.reconcile", "shared.settle"} <= set(lanes)
    assert set(lanes) <= consumed_queues()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test's own (its own port and directory), which it may restart."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed (.ci/run installs it)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        _until(lambda: _pings(client), "the private Redis to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _until(predicate: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    with tempfile.TemporaryDirectory(prefix="scheduler-redis-") as directory:
        server = PrivateRedis(Path(directory))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.processes
def test_the_scheduler_keeps_running_and_takes_its_lock_back_after_a_redis_restart(
    private_redis: PrivateRedis,
) -> None:
    """Issue 17, fix 4: after a Redis restart the scheduler could not extend its lock (the key was
    gone), printed "The lock is no longer owned by the scheduler" and exited 0, so a process
    manager restarting only on failure left reconcile, sweep and detection stopped for good."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env |= {"REDIS_URL": private_redis.url, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, *procfile()["scheduler"][1:]]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    client = redis.Redis.from_url(private_redis.url)
    try:
        _until(lambda: _pings(client) and client.llen("dramatiq:platform") > 0, "the first platform tick")
        private_redis.stop()
        private_redis.start()  # empty: no lock, no queues
        _until(lambda: client.exists(LOCK_NAME) and client.llen("dramatiq:platform") > 0, "ticks after the restart")
        assert process.poll() is None, "the scheduler exited after the Redis restart"
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.wait(timeout=10)
    assert process.returncode == 0, output.decode(errors="replace")
    assert b"scheduler lock held again" in output
    assert not client.exists(LOCK_NAME)  # released on the way out
