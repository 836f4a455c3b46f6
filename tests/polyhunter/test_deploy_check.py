"""`manage.py check --deploy` with a production-like environment reports nothing."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "q7#Yb2!vR9$kLm4@xW8&zT1^nC6*pF3%hJ0(sD5)gE-uA_iO=Zx9!Kp2#",
    "SECURE_HSTS_PRELOAD": "true",
    "ALLOWED_HOSTS": "polyhunter.example",
    "CSRF_TRUSTED_ORIGINS": "https://polyhunter.example",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "BEHIND_TLS_PROXY": "true",
    "DATABASE_URL": "postgres://app@127.0.0.1:5432/polyhunter",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ENCRYPTION_KEYS": "k1:" + base64.b64encode(b"p" * 32).decode(),
}


def test_check_deploy_reports_nothing_with_a_production_environment() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
