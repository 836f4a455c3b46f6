"""The anvil node: the one place that finds the binary, checks its version and runs it.

`make venv` (and `make test`, `make demo`, `make bench`) installs Foundry's anvil from npm into
tools/anvil/node_modules, pinned by tools/anvil/package.json and its lockfile. Nothing is
downloaded at run time: a missing or wrong binary is an error that names the make target.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ROOT / "tools" / "anvil"
PACKAGE = "@foundry-rs/anvil-linux-amd64"
ANVIL_BINARY = TOOLS / "node_modules" / PACKAGE / "bin" / "anvil"
INSTALL_HINT = "run `make venv` in the project folder (it installs the pinned anvil from npm into tools/anvil)"
POLYGON_CHAIN_ID = 137
# Anvil's public development mnemonic: its accounts hold only local test ether.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
_PR_SET_PDEATHSIG = 1
_VERSION = re.compile(r"anvil Version: (\S+)")


class AnvilNotInstalled(RuntimeError):
    """The pinned anvil is missing or another version is installed; the message says how to fix it."""


class AnvilFailed(RuntimeError):
    """anvil did not start or stopped answering."""


def pinned_version() -> str:
    """The version tools/anvil/package.json pins (the only place it is written down)."""
    return str(json.loads((TOOLS / "package.json").read_text())["dependencies"][PACKAGE])


@cache
def anvil_binary() -> Path:
    """The pinned anvil, checked once per process; AnvilNotInstalled naming `make venv` otherwise."""
    wanted = pinned_version()
    if not os.access(ANVIL_BINARY, os.X_OK):
        raise AnvilNotInstalled(f"anvil {wanted} is not installed at {ANVIL_BINARY}: {INSTALL_HINT}")
    try:
        out = subprocess.run(  # noqa: S603 - our own pinned binary, a fixed argv
            [ANVIL_BINARY, "--version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise AnvilNotInstalled(f"{ANVIL_BINARY} does not run ({exc}): {INSTALL_HINT}") from exc
    found = _VERSION.search(out.stdout)
    if found is None or found.group(1) != wanted:
        version = found.group(1) if found else out.stdout.strip()[:80]
        raise AnvilNotInstalled(f"{ANVIL_BINARY} is anvil {version}, the project pins {wanted}: {INSTALL_HINT}")
    return ANVIL_BINARY


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when our process dies, even by SIGKILL.

    anvil runs in its own session (a terminal's Ctrl-C reaches us, and we stop it); without this a
    killed test run or demo would leave its node running.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class AnvilNode:
    """One anvil process on 127.0.0.1 with chain id 137 (a port of 0 picks a free one).

    Mining: every transaction is mined at once in its own block (automine); `block_time` adds
    interval blocks on top (mixed mining), so confirmations keep coming while nothing trades.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        chain_id: int = POLYGON_CHAIN_ID,
        block_time: float | None = None,
        accounts: int = 10,
    ) -> None:
        self.host = host
        self.port = port
        self.chain_id = chain_id
        self.block_time = block_time
        self.accounts = accounts
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> AnvilNode:
        binary = anvil_binary()
        fixed = self.port != 0
        # Another process may take a free port between the probe and anvil's bind: try again.
        for _attempt in range(1 if fixed else 5):
            if not fixed:
                self.port = free_port(self.host)
            command = [
                str(binary),
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--chain-id",
                str(self.chain_id),
                "--accounts",
                str(self.accounts),
                "--mnemonic",
                DEV_MNEMONIC,
                "--quiet",
            ]
            if self.block_time:
                command += ["--block-time", str(self.block_time), "--mixed-mining"]
            # Its few lines go to a file (never a pipe nobody reads, which could fill and block it).
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _reap/stop
            self._process = subprocess.Popen(  # noqa: S603 - a fixed argv, no shell
                command,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            if self._wait_ready():
                return self
            error = self._reap()
            if fixed or "in use" not in error.lower():
                raise AnvilFailed(f"anvil did not start on {self.rpc_url}: {error.strip()[:500]}")
        raise AnvilFailed(f"anvil found no free port after 5 tries (last {self.port})")

    def _wait_ready(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            with contextlib.suppress(httpx.HTTPError):
                if self.rpc("eth_chainId") == hex(self.chain_id):
                    return True
            time.sleep(0.02)
        return False

    def _reap(self) -> str:
        process, self._process = self._process, None
        if process is None:
            return ""
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        self._log.seek(0)
        text = bytes(self._log.read()).decode(errors="replace")
        self._log.close()
        return text

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """One JSON-RPC call (the anvil_* / evm_* control methods included)."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        answer = httpx.post(self.rpc_url, json=body, timeout=30, trust_env=False).json()
        if "error" in answer:
            raise AnvilFailed(f"{method}: {answer['error']}")
        return answer.get("result")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
