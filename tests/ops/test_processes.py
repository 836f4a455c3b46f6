"""Metrics across processes: a real rundramatiq pool and a real gunicorn with two workers each sum
what all their processes counted, and the pool's metrics server listens on loopback only."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from copytrading.models import CopyTrade
from execution.switches import switch_set
from polyhunter.metrics import sample_lines
from tests.copytrading.reliability.harness import database_url
from tests.factories import make_copy_trade, shared_deployment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=base | {"DATABASE_URL": database_url()} | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def scrape_until(url: str, name: str, labels: dict[str, str], expected: float, **request: object) -> float:
    """Read one sample until it reaches ``expected`` (processes start and work in their own time)."""
    deadline = time.monotonic() + 90
    value = -1.0
    while time.monotonic() < deadline:
        try:
            text = httpx.get(url, timeout=5, **request).text  # type: ignore[arg-type]
        except httpx.HTTPError:
            time.sleep(0.3)
            continue
        value = sum(v for n, found, v in sample_lines(text) if n == name and labels.items() <= found.items())
        if value >= expected:
            return value
        time.sleep(0.3)
    return value


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


@pytest.mark.skipif(not settings.REDIS_URL, reason="a rundramatiq pool needs the Redis broker (REDIS_URL)")
def test_a_worker_pool_exports_what_its_processes_counted_on_loopback(
    processes: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    from copytrading.tasks import execute_copy_trades

    shared_deployment()
    switch_set(name="kill_switch", engaged=True, actor="test", reason="metrics drill")
    rows = [make_copy_trade(status=CopyTrade.Status.PENDING) for _ in range(4)]
    port = free_port()
    env = {"METRICS_DIR": str(tmp_path)}
    processes.append(
        start(
            [
                "manage.py",
                "rundramatiq",
                "--metrics-port",
                str(port),
                "--processes",
                "2",
                "--threads",
                "1",
                "--queues",
                "shared.copies",
            ],
            env,
        )
    )
    for row in rows:
        execute_copy_trades.send_with_options(args=([row.id],), queue_name="shared.copies")
    url = f"http://127.0.0.1:{port}/metrics"
    labels = {"status": "blocked", "reason": "kill_switch"}
    assert scrape_until(url, "polyhunter_copies_total", labels, 4) == 4
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
    assert list((tmp_path / f"worker-{port}").glob("*.db"))
    assert {row.status for row in CopyTrade.objects.filter(id__in=[r.id for r in rows])} == {"blocked"}


def test_gunicorn_workers_sum_their_metrics_behind_the_token(
    processes: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    port = free_port()
    env = {"METRICS_DIR": str(tmp_path), "PORT": str(port), "METRICS_TOKEN": "gunicorn-scrape-token"}
    processes.append(start(["-m", "gunicorn", "polyhunter.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"], env))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    name = "django_http_requests_total_by_view_transport_method_total"
    auth = {"headers": {"Authorization": "Bearer gunicorn-scrape-token"}}
    # Start-up probes that timed out on a loaded machine were still served: count from here.
    before = scrape_until(f"{base}/metrics", name, {"view": "healthz"}, 1, **auth)
    with httpx.Client(timeout=5) as client:  # new connections: the requests spread over the workers
        for _ in range(19):
            assert httpx.get(f"{base}/healthz", timeout=5, headers={"Connection": "close"}).status_code == 200
        assert client.get(f"{base}/metrics").status_code == 401
    assert scrape_until(f"{base}/metrics", name, {"view": "healthz"}, before + 19, **auth) == before + 19
    assert len(list((tmp_path / f"web-{port}").glob("counter_*.db"))) >= 1
