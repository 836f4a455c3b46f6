"""python manage.py run_venue_simulator: serves, then stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
TAPE = ROOT / "tests" / "fixtures" / "leader_tape_data_api_activity_2024-09.json"


@pytest.mark.processes
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_it_serves_a_tape_scenario_and_stops_on_a_signal(stop: signal.Signals) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "polyhunter.settings_test"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "run_venue_simulator", "--port", "0", "--tape", str(TAPE)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready = server.stdout.readline()
        assert ready.startswith("venue simulator listening on http://127.0.0.1:")
        url = ready.split()[4]
        assert httpx.get(url + "/version").json() == {"version": 2}
        assert httpx.get(url + "/_sim/state").json()["markets"] >= 5
        server.send_signal(stop)
        out, err = server.communicate(timeout=15)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err
    assert "venue simulator stopped" in out
