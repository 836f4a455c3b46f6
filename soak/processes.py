"""The platform's long-running processes as the Procfile declares them, under a supervisor that
restarts whatever exits (like a process manager with ``Restart=always``), and the chaos that
SIGKILLs them.

Commands come from the ``Procfile`` (``worker``, ``exits``, ``scheduler``), so the soak runs what
production runs, queues included, whatever they become. Each process is its own process group;
its output is appended to ``<logs>/<name>.log`` across restarts.
"""

from __future__ import annotations

import contextlib
import os
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.stack import descendants

ROOT = Path(__file__).resolve().parents[1]
RESTART_AFTER = 1.0  # seconds a process manager waits before starting a process that exited


def procfile(path: Path = ROOT / "Procfile") -> dict[str, list[str]]:
    """name -> argv of each Procfile line, ``python`` being this interpreter."""
    lines: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        if ":" not in raw or raw.lstrip().startswith("#"):
            continue
        name, command = raw.split(":", 1)
        argv = shlex.split(command)
        if argv and argv[0] == "python":
            argv[0] = sys.executable
        lines[name.strip()] = argv
    return lines


@dataclass
class Exit:
    at: float
    code: int
    killed_by_us: bool


@dataclass
class Managed:
    name: str
    role: str  # worker | exits | scheduler
    command: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    handle: IO[bytes] | None = None
    starts: int = 0
    exits: list[Exit] = field(default_factory=list)
    exited_at: float | None = None
    kill_pending: bool = False

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Supervisor:
    """Starts the processes, restarts any that exits, and kills them on request."""

    def __init__(self) -> None:
        self.managed: list[Managed] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="soak-supervisor", daemon=True)
        self.restarts = 0

    def add(self, managed: Managed) -> None:
        self.managed.append(managed)

    def start(self) -> None:
        for managed in self.managed:
            self._start(managed)
        self._thread.start()

    def _start(self, managed: Managed) -> None:
        if managed.handle is None:
            managed.handle = managed.log.open("ab")
        managed.handle.write(f"\n===== soak: start #{managed.starts + 1} at {time.strftime('%H:%M:%S')}\n".encode())
        managed.handle.flush()
        managed.popen = subprocess.Popen(
            managed.command,
            cwd=ROOT,
            env=managed.env,
            stdout=managed.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        managed.starts += 1
        managed.exited_at = None

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            with self._lock:
                for managed in self.managed:
                    if managed.popen is None or managed.running:
                        continue
                    now = time.monotonic()
                    if managed.exited_at is None:
                        code = managed.popen.returncode
                        managed.exits.append(Exit(at=time.time(), code=code, killed_by_us=managed.kill_pending))
                        managed.kill_pending = False
                        managed.exited_at = now
                    elif now - managed.exited_at >= RESTART_AFTER:
                        self._start(managed)
                        self.restarts += 1

    def kill(self, rng: random.Random, *, roles: tuple[str, ...]) -> str | None:
        """SIGKILL one running process of these roles: a whole pool (its main process and every
        worker process: a machine dying), or, half the time, one worker process of a pool (the
        pool's main process then stops the others and exits). Returns what was killed."""
        with self._lock:
            candidates = [m for m in self.managed if m.role in roles and m.running]
            if not candidates:
                return None
            target = rng.choice(candidates)
            assert target.popen is not None
            children = sorted(descendants(target.popen.pid) - {target.popen.pid})
            target.kill_pending = True
            if target.role != "scheduler" and children and rng.random() < 0.5:
                victim = rng.choice(children)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
                return f"{target.name}: worker process {victim}"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(target.popen.pid, signal.SIGKILL)
            return f"{target.name}: the whole process group"

    def all_running(self) -> bool:
        with self._lock:
            return all(m.running for m in self.managed)

    def stop(self, *, timeout: float = 60.0) -> None:
        """SIGTERM every process group (workers drain), SIGKILL what is left after ``timeout``."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for managed in self.managed:
            if managed.running:
                assert managed.popen is not None
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(managed.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for managed in self.managed:
            if managed.popen is None:
                continue
            try:
                managed.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(managed.popen.pid, signal.SIGKILL)
                managed.popen.wait(timeout=10)
            # Leftovers of the group (a worker process whose main process died before it).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(managed.popen.pid, signal.SIGKILL)
            if managed.handle is not None:
                managed.handle.close()
                managed.handle = None

    def exits_summary(self) -> dict[str, dict[str, Any]]:
        """Per role: starts, exits by code, and exits nobody provoked (no kill of ours preceded them)."""
        out: dict[str, dict[str, Any]] = {}
        for managed in self.managed:
            entry = out.setdefault(
                managed.role, {"starts": 0, "exits": Counter[str](), "unprovoked_exits": Counter[str]()}
            )
            entry["starts"] += managed.starts
            for ended in managed.exits:
                entry["exits"][str(ended.code)] += 1
                if not ended.killed_by_us:
                    entry["unprovoked_exits"][str(ended.code)] += 1
        return {
            role: {"starts": e["starts"], "exits": dict(e["exits"]), "unprovoked_exits": dict(e["unprovoked_exits"])}
            for role, e in out.items()
        }
