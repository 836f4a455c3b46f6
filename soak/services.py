"""PostgreSQL and Redis instances of our own, to crash and restart at will.

The machine's PostgreSQL (5432) and Redis (6379) are shared: nothing here ever touches them.
Each instance gets a free port and a data directory under the caller's ``root`` (the soak uses
``var/soak/``, tests ``var/test-services/``), and is stopped by ``stop()`` (also on exit through
``with``). PostgreSQL refuses to run as root: when we are root its directory is handed to the
``postgres`` user and its programs run through ``runuser``.

No Django import: the soak's harness and the tests both use this before (or beside) Django.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import redis


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    """A port nobody listens on right now (bound and released: the usual small race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(predicate: object, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.1)
    raise ServiceError(f"timed out after {timeout:.0f} s waiting for {what}")


class OwnRedis:
    """A redis-server of our own: AOF every second and ``noeviction`` unless told otherwise."""

    def __init__(
        self,
        root: Path,
        *,
        name: str = "redis",
        maxmemory: str | None = None,
        policy: str = "noeviction",
        appendonly: bool = True,
    ) -> None:
        if shutil.which("redis-server") is None:
            raise ServiceError("redis-server is not installed (.ci/run installs it with apt-get)")
        self.dir = (root / name).resolve()
        self.port = free_port()
        self.maxmemory = maxmemory
        self.policy = policy
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), socket_connect_timeout=2, socket_timeout=5)

    def start(self) -> Self:
        self.dir.mkdir(parents=True, exist_ok=True)
        command = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
            "--maxmemory-policy",
            self.policy,
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        if self.maxmemory:
            command += ["--maxmemory", self.maxmemory]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        _wait(self.ping, timeout=30, what=f"redis-server on port {self.port}")
        return self

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def crash(self, *, wipe: bool = False) -> None:
        """SIGKILL the server (what a machine or OOM kill does); ``wipe`` also loses its data."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None
        if wipe:
            for entry in self.dir.iterdir():
                if entry.name != "redis.log":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()

    def restart(self, *, wipe: bool = False, down_for: float = 0.0) -> None:
        self.crash(wipe=wipe)
        time.sleep(down_for)
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def postgres_bindir() -> Path:
    """The newest installed server's programs (initdb and pg_ctl are not on PATH on Debian)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise ServiceError("PostgreSQL server programs not found (.ci/run installs postgresql with apt-get)")


class OwnPostgres:
    """A PostgreSQL cluster of our own (trust auth, user ``postgres``, 127.0.0.1 only).

    ``fsync`` is off: it only matters when the machine itself crashes, never when the server
    process is killed (the kernel keeps what was written), which is the failure played here.
    Commits stay synchronous, so a commit acknowledged before a crash survives it.
    """

    def __init__(self, root: Path, *, name: str = "postgres") -> None:
        self.bindir = postgres_bindir()
        self.home = (root / name).resolve()
        self.data = self.home / "data"
        self.logfile = self.home / "server.log"
        self.port = free_port()
        self.restarts = 0
        self._as_postgres = os.geteuid() == 0

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        full = [str(self.bindir / command[0]), *command[1:]]
        if self._as_postgres:
            full = ["runuser", "-u", "postgres", "--", *full]
        done = subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode:
            raise ServiceError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        return done

    def _prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.home, user.pw_uid, user.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            if self.data.exists():
                shutil.rmtree(self.data)
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> Self:
        self._prepare()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.home} -c fsync=off "
            "-c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "-t", "60", "start")
        _wait(self.ready, timeout=60, what=f"PostgreSQL on port {self.port}")
        return self

    def ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')

    def crash(self) -> None:
        """Immediate shutdown: every backend is killed, no checkpoint; WAL replay at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self, *, down_for: float = 0.0) -> None:
        self.crash()
        time.sleep(down_for)
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(ServiceError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop", timeout=60)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
