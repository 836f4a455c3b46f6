"""The real stack on this machine: PostgreSQL, Redis, the simulated venue and the workers.

PostgreSQL and Redis are started the way ``.ci/run`` starts them when they are not running.
The benchmark uses its own database (``polyhunter_bench``, created and migrated here) and its
own Redis database number, so it never touches anybody's data. The simulator and the workers
are child processes in their own process groups; ``Stack.stop`` ends exactly those groups, also
on Ctrl-C or an error (``with Stack(...)``).

No Django import at module level: the environment must be complete before Django starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "var" / "bench"
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_PORT = 6379
# A fixed, public key for the benchmark database only (never a real one).
BENCH_KEYRING = "bench1:cG9seWh1bnRlci1iZW5jaC1vbmx5LWtleS0zMmJ5dGU="
# Public and bench-only, like the keyring: PostgreSQL refuses the embedded default signing key.
BENCH_SECRET_KEY = "polyhunter-bench-only-signing-key-never-used-in-production-0123456789"  # noqa: S105
WORKER_QUEUES = ("platform", "detection", "shared.fanout", "shared.copies", "shared.reconcile", "shared.settle")
_READY = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _as_root(command: list[str]) -> list[str]:
    if os.geteuid() == 0 or shutil.which("sudo") is None:
        return command
    return ["sudo", *command]


def _quiet(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_postgres() -> None:
    if _quiet(["pg_isready", "-h", PG_HOST, "-p", str(PG_PORT), "-q"]):
        return
    log("PostgreSQL is not running: starting it (as .ci/run does)")
    for version in sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []:
        _quiet(_as_root(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"]))
    for _ in range(30):
        if _quiet(["pg_isready", "-h", PG_HOST, "-p", str(PG_PORT), "-q"]):
            return
        time.sleep(1)
    raise SystemExit("PostgreSQL did not come up on 127.0.0.1:5432 (install it as .ci/run does)")


def ensure_redis() -> None:
    ping = ["redis-cli", "-h", "127.0.0.1", "-p", str(REDIS_PORT), "ping"]
    if _quiet(ping):
        return
    log("Redis is not running: starting it (as .ci/run does)")
    _quiet(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(REDIS_PORT)])
    for _ in range(30):
        if _quiet(ping):
            return
        time.sleep(1)
    raise SystemExit("Redis did not come up on 127.0.0.1:6379 (install it as .ci/run does)")


def ensure_database(name: str, user: str) -> None:
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _all_processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we can read."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out[int(entry)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline.strip())
    return out


def descendants(root: int, table: dict[int, tuple[int, str]] | None = None) -> set[int]:
    table = table if table is not None else _all_processes()
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in table.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def machine_busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _postgres_server_process(cmd: str, database: str) -> bool:
    """The postmaster or one of its auxiliary processes (not a client backend; an autovacuum
    worker only while it works on ``database``)."""
    if cmd.startswith("postgres:"):
        # Backends read "postgres: <cluster>: <user> <database> <client> <state>".
        title = cmd.split(":", 2)[-1].strip()
        if "autovacuum worker" in title:
            return f" {database}" in f" {title} "
        return not any(ch in title for ch in ("127.0.0.1", "[local]", "::1"))
    parts = cmd.split()
    return bool(parts) and Path(parts[0]).name in ("postgres", "postmaster") and "-D" in parts


@dataclass
class CpuSample:
    """CPU seconds per process of each group; a process that ends between two samples loses
    what it used since the first one (backends and workers here live for the whole run)."""

    at: float
    groups: dict[str, dict[int, float]]
    machine: float

    def used_since(self, before: CpuSample) -> dict[str, float]:
        return {
            name: sum(value - before.groups.get(name, {}).get(pid, 0.0) for pid, value in pids.items())
            for name, pids in self.groups.items()
        }


@dataclass
class Stack:
    """Everything ``make bench`` starts, and how to stop it."""

    workers: int
    threads: int
    prefetch: int | None = None
    database: str = "polyhunter_bench"
    redis_db: int = 9
    pg_user: str = "postgres"
    scenario_file: Path | None = None
    # Settle the venue's matches on a local anvil node (run_local_chain) as well.
    chain: bool = False
    # Where the children's logs go (``make soak`` reuses this stack with its own directory).
    logs: Path = LOGS
    env: dict[str, str] = field(default_factory=dict)
    simulator_url: str = ""
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _handles: list[object] = field(default_factory=list)

    # Environment

    def prepare(self) -> None:
        ensure_postgres()
        ensure_redis()
        ensure_database(self.database, self.pg_user)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
            "DATABASE_URL": f"postgres://{self.pg_user}@{PG_HOST}:{PG_PORT}/{self.database}",
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/{self.redis_db}",
            "ENCRYPTION_KEYS": BENCH_KEYRING,
            "SECRET_KEY": BENCH_SECRET_KEY,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        import redis

        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()

    def migrate(self) -> None:
        started = time.monotonic()
        self._run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], "migrate")
        log(f"database {self.database} migrated ({time.monotonic() - started:.1f}s)")

    def _run(self, command: list[str], name: str) -> None:
        with open(self.logs / f"{name}.log", "wb") as out:
            done = subprocess.run(command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode:
            raise SystemExit(f"{name} failed; see {self.logs / f'{name}.log'}")

    # Processes

    def spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start a child in its own process group, its output in ``<logs>/<name>.log``."""
        out = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115  (closed in stop)
        self._handles.append(out)
        child = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._children[name] = child
        return child

    def start_chain(self) -> Path:
        out = self.logs / "chain.json"
        out.unlink(missing_ok=True)
        command = [sys.executable, "manage.py", "run_local_chain", "--port", "0", "--out", str(out)]
        child = self.spawn("chain", command, self.env)
        deadline = time.monotonic() + 60
        while not out.exists():
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the local chain did not start; see {self.logs / 'chain.log'}")
            time.sleep(0.05)
        return out

    def start_simulator(self, scenario_file: Path) -> str:
        command = [sys.executable, "manage.py", "run_venue_simulator", "--port", "0", "--scenario", str(scenario_file)]
        if self.chain:
            command += ["--chain", str(self.start_chain())]
        child = self.spawn("simulator", command, self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = _READY.search((self.logs / "simulator.log").read_text(errors="replace"))
            if found:
                self.simulator_url = found.group(1)
                break
            if child.poll() is not None:
                raise SystemExit(f"the simulator exited; see {self.logs / 'simulator.log'}")
            time.sleep(0.05)
        else:
            raise SystemExit("the simulator did not start within 60 s")
        self.env["POLYMARKET_CLOB_URL"] = self.env["POLYMARKET_DATA_URL"] = self.simulator_url
        return self.simulator_url

    def start_workers(self) -> None:
        command = [
            sys.executable,
            "manage.py",
            "rundramatiq",
            "--processes",
            str(self.workers),
            "--threads",
            str(self.threads),
            # The Procfile's worker line (exits have their own worker there; the bench copies buys).
            "--queues",
            *WORKER_QUEUES,
        ]
        env = {**self.env, "DJANGO_SETTINGS_MODULE": "bench.settings"}
        if self.prefetch is not None:
            env["dramatiq_queue_prefetch"] = str(self.prefetch)
        self.spawn("workers", command, env)

    def pid(self, name: str) -> int:
        return self._children[name].pid

    def check_alive(self) -> None:
        for name, child in self._children.items():
            if child.poll() is not None:
                raise SystemExit(f"{name} exited with {child.returncode}; see {self.logs / f'{name}.log'}")

    def stop(self) -> None:
        for child in reversed(list(self._children.values())):
            if child.poll() is None:
                try:
                    os.killpg(child.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for name, child in self._children.items():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop on SIGTERM: killing its process group")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=5)
        self._children.clear()
        for handle in self._handles:
            handle.close()  # type: ignore[attr-defined]
        self._handles.clear()

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # Profiling (py-spy, installed on demand: it is not a project dependency)

    def start_profiler(self, label: str) -> subprocess.Popen[bytes]:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        out = self.logs / f"profile-{label}.txt"
        log(f"py-spy recording the workers to {out}")
        return subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(self.pid("workers")),
                "--subprocesses",
                "--format",
                "raw",
                "--rate",
                "250",
                "--gil",
                "--output",
                str(out),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.logs / f"profile-{label}.log", "wb"),
        )

    def stop_profiler(self, profiler: subprocess.Popen[bytes]) -> None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=60)

    # CPU accounting

    def cpu_sample(self) -> CpuSample:
        table = _all_processes()
        groups: dict[str, dict[int, float]] = {}
        for name, child in self._children.items():
            groups[name] = {pid: cpu_seconds(pid) for pid in descendants(child.pid, table)}
        # Backends of the benchmark database only (the server is shared with other work) ...
        groups["postgres"] = {
            pid: cpu_seconds(pid)
            for pid, (_, cmd) in table.items()
            if cmd.startswith("postgres:") and f" {self.database} " in cmd
        }
        # ... and the server's own processes (postmaster, WAL writer, checkpointer, background
        # writer, autovacuum launcher, ...), which our commits drive but which belong to no
        # database; other databases' backends are other people's work and stay out.
        groups["postgres_server"] = {
            pid: cpu_seconds(pid) for pid, (_, cmd) in table.items() if _postgres_server_process(cmd, self.database)
        }
        groups["redis"] = {pid: cpu_seconds(pid) for pid, (_, cmd) in table.items() if cmd.startswith("redis-server")}
        groups["harness"] = {os.getpid(): cpu_seconds(os.getpid())}
        return CpuSample(at=time.monotonic(), groups=groups, machine=machine_busy_seconds())
