"""The simulator cannot agree with our bugs: it imports nothing of the platform or the SDK."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "execution" / "simulator"
FORBIDDEN = ("execution", "copytrading", "accounts", "polyhunter", "polymarket", "django", "py_clob_client")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_it_imports_nothing_from_the_platform_or_the_sdk() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in PACKAGE.rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN and not name.startswith("execution.simulator")
    }
    assert offenders == set()


def test_it_runs_without_django_settings() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(PACKAGE.parents[1])
    probe = (
        "import sys, execution.simulator as s; v = s.Venue(); v.state(); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'polymarket', 'copytrading')); "
        "print(bad)"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
