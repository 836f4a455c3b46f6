"""Log lines operations relies on: LOG_FORMAT=json, and an expiry logged with the copy's id."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from copytrading.models import CopyTrade
from copytrading.pipeline.sweep import sweep_deployment
from polyhunter.log_format import JsonFormatter
from tests.factories import make_copy_trade, shared_deployment

ROOT = Path(__file__).resolve().parents[2]


def test_the_json_format_writes_one_object_per_record_with_its_traceback() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("copytrading.x", logging.WARNING, __file__, 1, "copy %s: %s", ("abc", "x"), None)
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    body = json.loads(line)
    assert "\n" not in line
    assert (body["level"], body["logger"], body["message"]) == ("WARNING", "copytrading.x", "copy abc: x")
    assert "RuntimeError: boom" in body["traceback"]
    assert body["time"].endswith("+00:00")


def test_log_format_json_is_what_the_processes_write() -> None:
    code = "import logging, django; django.setup(); logging.getLogger('copytrading').warning('copy %s', 'c0de')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "polyhunter.settings", "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "c0de" in line]
    assert json.loads(line)["message"] == "copy c0de"


@pytest.mark.django_db
def test_an_expired_copy_is_logged_once_with_its_id(caplog: pytest.LogCaptureFixture) -> None:
    deployment = shared_deployment()
    row = make_copy_trade(status=CopyTrade.Status.PENDING)
    CopyTrade.objects.filter(id=row.id).update(created_at=timezone.now() - timedelta(minutes=11))
    with caplog.at_level(logging.INFO, logger="copytrading.pipeline.sweep"):
        assert sweep_deployment(deployment=deployment).expired == 1
    lines = [r for r in caplog.records if str(row.code) in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in lines] == [
        ("INFO", f"copy {row.code} expired: not processed within 10 minutes")
    ]
