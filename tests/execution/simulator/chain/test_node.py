"""Finding anvil: the pinned binary or an error that names the make target installing it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from execution.simulator.chain import node
from execution.simulator.chain.local import LocalChain
from execution.simulator.chain.node import AnvilNotInstalled, anvil_binary, pinned_version


@pytest.fixture
def unresolved() -> Iterator[None]:
    """The binary looked up afresh (it is cached per process), and again after the test."""
    anvil_binary.cache_clear()
    yield
    anvil_binary.cache_clear()


def test_the_pinned_version_is_the_one_the_lockfile_installs() -> None:
    lock = json.loads((node.TOOLS / "package-lock.json").read_text())
    assert lock["packages"][f"node_modules/{node.PACKAGE}"]["version"] == pinned_version()
    assert pinned_version().startswith("1.7.")
    assert anvil_binary() == node.ANVIL_BINARY


def test_a_missing_binary_is_an_error_naming_make_venv(unresolved: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node, "ANVIL_BINARY", Path("/nonexistent/anvil"))
    with pytest.raises(AnvilNotInstalled, match="is not installed at /nonexistent/anvil: run `make venv`"):
        LocalChain().start()


def test_another_version_is_an_error_naming_make_venv(
    unresolved: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = tmp_path / "anvil"
    other.write_text("#!/bin/sh\necho 'anvil Version: 1.4.4'\n")
    other.chmod(0o755)
    monkeypatch.setattr(node, "ANVIL_BINARY", other)
    with pytest.raises(AnvilNotInstalled, match=r"is anvil 1\.4\.4, the project pins 1\.7\.\d+: run `make venv`"):
        anvil_binary()


def running(pid: int) -> bool:
    """The process exists and is not a zombie waiting for whoever adopted it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.processes
def test_a_node_stops_when_the_process_that_started_it_is_killed() -> None:
    """Failed before anvil was started with a parent-death signal: a killed test run left its node running."""
    root = Path(__file__).resolve().parents[4]
    probe = (
        "import sys, time; from execution.simulator.chain.node import AnvilNode; "
        "n = AnvilNode().start(); print(n._process.pid, flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen([sys.executable, "-c", probe], cwd=root, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and running(child):
        time.sleep(0.1)
    alive = running(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive
