"""The alert rules and the dashboard in ops/: promtool checks and unit-tests the rules (each alert
fires in a test), and every metric the rules and the dashboard query is one PolyHunter exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client, override_settings

from copytrading.deployments import deployment_heartbeat
from copytrading.tasks import platform_tick
from polyhunter.metrics import sample_lines
from tests.factories import shared_deployment
from tests.ops.conftest import TOKEN

OPS = Path(__file__).resolve().parents[2] / "ops"
RULES = OPS / "prometheus" / "alerts.yml"
RULE_TESTS = OPS / "prometheus" / "alerts.test.yml"
DASHBOARD = OPS / "grafana" / "polyhunter.json"
METRIC = re.compile(r"\b((?:polyhunter|django|dramatiq)_[a-zA-Z0-9_]+)")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",), "summary": ("",)}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: install Debian's prometheus package (make test installs it)"
    return subprocess.run([tool, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=120, check=False)


def test_promtool_accepts_the_alert_rules() -> None:
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_each_alert_fires_in_the_rule_unit_tests() -> None:
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = set(re.findall(r"^\s*- alert: (\S+)", RULES.read_text(), flags=re.MULTILINE))
    tested = RULE_TESTS.read_text()
    firing = set(re.findall(r"alertname: (\S+)\n\s*exp_alerts:\n\s*- ", tested))
    assert alerts, "no alert found in the rules"
    assert alerts == firing, f"alerts never seen firing in {RULE_TESTS.name}: {sorted(alerts - firing)}"


def exported_names(client: Client) -> set[str]:
    shared_deployment()
    platform_tick()  # the scheduler's heartbeat
    deployment_heartbeat(key="shared")  # what the reconcile message it sends records
    with override_settings(METRICS_TOKEN=TOKEN):
        text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    names = {name for name, _, _ in sample_lines(text)}
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE):
        base = family.removesuffix("_total") if kind == "counter" else family
        names |= {base + suffix for suffix in SUFFIXES.get(kind, ("",))}
    return names


def queried(text: str) -> set[str]:
    return set(METRIC.findall(text))


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


@pytest.mark.django_db
def test_every_dashboard_query_names_a_metric_we_export(client: Client) -> None:
    exported = exported_names(client)
    queries = dashboard_queries()
    assert queries
    for expr in queries:
        names = queried(expr)
        assert names, f"no metric in {expr!r}"
        assert names <= exported, f"{expr!r} queries {sorted(names - exported)}, which PolyHunter does not export"


@pytest.mark.django_db
def test_every_alert_queries_a_metric_we_export(client: Client) -> None:
    exported = exported_names(client)
    expressions = re.findall(r"^\s*expr: (.+)$", RULES.read_text(), flags=re.MULTILINE)
    assert expressions
    for expr in expressions:
        assert queried(expr), expr
        assert queried(expr) <= exported, expr
