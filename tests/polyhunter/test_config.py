from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from polyhunter import config

ROOT = Path(__file__).resolve().parents[2]
KEY = base64.b64encode(b"k" * 32).decode()


def problems_for(env: dict[str, str]) -> list[str]:
    with pytest.raises(config.ConfigurationError) as caught:
        config.load(env)
    return caught.value.problems


def test_it_loads_the_embedded_default_from_an_empty_environment() -> None:
    loaded = config.load({})
    assert loaded.embedded
    assert loaded["RUN_MODE"] == "shared_backend"
    assert loaded["REDIS_URL"] == ""


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ("ENCRYPTION_KEY", "ENCRYPTION_KEYS"),
        ("DB_URL", "DATABASE_URL"),
        ("DATABASE_URI", "DATABASE_URL"),
        ("REDIS_URI", "REDIS_URL"),
        ("RUNMODE", "RUN_MODE"),
        ("DJANGO_SECRET_KEY", "SECRET_KEY"),
        ("CLOB_URL", "POLYMARKET_CLOB_URL"),
    ],
)
def test_it_names_the_expected_variable_when_a_known_alias_is_set(found: str, expected: str) -> None:
    assert problems_for({found: "x"}) == [f"found {found}, expected {expected}"]


def test_it_refuses_an_alias_even_when_the_right_name_is_also_set() -> None:
    assert problems_for({"REDIS_URI": "redis://a", "REDIS_URL": "redis://127.0.0.1:6379/0"}) == [
        "found REDIS_URI, expected REDIS_URL"
    ]


def test_it_refuses_an_unknown_name_in_our_namespaces_and_suggests_the_close_one() -> None:
    assert problems_for({"DETECT_CONFIRMATION": "3"}) == [
        "found DETECT_CONFIRMATION, which PolyHunter does not read, expected DETECT_CONFIRMATIONS"
    ]


def test_it_ignores_variables_outside_its_namespaces() -> None:
    config.load({"PATH": "/bin", "HOME": "/root", "PYTHONPATH": "x"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "ture"}, "DEBUG: expected a boolean"),
        ({"DATABASE_CONN_MAX_AGE": "sixty"}, "DATABASE_CONN_MAX_AGE: expected an integer, got 'sixty'"),
        ({"DATABASE_CONN_MAX_AGE": "-1"}, "DATABASE_CONN_MAX_AGE: must not be negative"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL: expected a sqlite:/// or postgres:// URL"),
        ({"DATABASE_URL": "postgres://"}, "DATABASE_URL: a postgres:// URL needs a host and a database name"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL: expected a redis://host:port/db URL"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/zero"}, "REDIS_URL: the Redis database must be a number"),
        ({"RUN_MODE": "dedicated"}, "RUN_MODE: expected one of shared_backend, user_dedicated"),
        ({"DEPLOYMENT_ID": "Bad Id"}, "DEPLOYMENT_ID: expected a lower-case slug"),
        ({"ENCRYPTION_KEYS": "nocolon"}, "ENCRYPTION_KEYS: entry 1 must be id:base64key"),
        ({"ENCRYPTION_KEYS": "k1:!!!"}, "ENCRYPTION_KEYS: key 'k1' is not valid base64"),
        ({"ENCRYPTION_KEYS": "k1:" + base64.b64encode(b"short").decode()}, "must decode to 32 bytes"),
        ({"ENCRYPTION_KEYS": f"k1:{KEY},k1:{KEY}"}, "ENCRYPTION_KEYS: key id 'k1' appears twice"),
        ({"POLYMARKET_CLOB_URL": "clob.polymarket.com"}, "POLYMARKET_CLOB_URL: expected an http(s)://"),
        ({"POLYMARKET_CLOB_URL": "http://127.0.0.1:port"}, "POLYMARKET_CLOB_URL: malformed port"),
        ({"VENUE_READ_TIMEOUT": "0"}, "VENUE_READ_TIMEOUT: expected a positive finite number"),
        ({"VENUE_READ_TIMEOUT": "NaN"}, "VENUE_READ_TIMEOUT: expected a positive finite number"),
        ({"POLYGON_EXCHANGE_ADDRESSES": "0x12"}, "POLYGON_EXCHANGE_ADDRESSES: not 0x-prefixed 20-byte"),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR"),
        ({"EMAIL_URL": "carrier-pigeon://x"}, "EMAIL_URL: unknown email URL scheme"),
        ({"SECRET_KEY": ""}, "SECRET_KEY: must not be empty"),
    ],
)
def test_it_names_the_variable_of_a_malformed_value(env: dict[str, str], message: str) -> None:
    found = problems_for(env)
    assert len(found) == 1
    assert message in found[0]


def test_it_requires_a_deployment_id_for_a_dedicated_worker() -> None:
    assert problems_for({"RUN_MODE": "user_dedicated"}) == ["DEPLOYMENT_ID: required when RUN_MODE=user_dedicated"]


def test_it_requires_encryption_keys_outside_the_embedded_database() -> None:
    assert problems_for({"DATABASE_URL": "postgres://u@127.0.0.1:5432/db", "SECRET_KEY": "k" * 60}) == [
        "ENCRYPTION_KEYS: required when DATABASE_URL is not the embedded SQLite database"
    ]


def test_finding_4_production_refuses_the_public_default_secret_key() -> None:
    """Issue #18, finding 4. Failed before the fix: PostgreSQL started on the public default."""
    production = {"DATABASE_URL": "postgres://u@127.0.0.1:5432/db", "ENCRYPTION_KEYS": f"k1:{KEY}"}
    assert problems_for(production) == [
        "SECRET_KEY: the public default is refused when DATABASE_URL is not the embedded SQLite "
        "database; set a random value of 50+ characters"
    ]
    assert config.load({**production, "SECRET_KEY": "k" * 60})["SECRET_KEY"] == "k" * 60
    assert config.load({})["SECRET_KEY"] == config.SECRET_KEY_DEFAULT  # the embedded default keeps it


def test_finding_4_the_process_refuses_to_start_on_the_public_default() -> None:
    result = run_manage(
        "check_config",
        "--offline",
        env={"DATABASE_URL": "postgres://u@127.0.0.1:5432/db", "ENCRYPTION_KEYS": f"k1:{KEY}"},
    )
    assert result.returncode != 0
    assert "SECRET_KEY: the public default is refused" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_refuses_a_proxy_without_a_trusted_proxy_count() -> None:
    assert problems_for({"BEHIND_TLS_PROXY": "true", "TRUSTED_PROXY_COUNT": "0"}) == [
        "TRUSTED_PROXY_COUNT: must be at least 1 with BEHIND_TLS_PROXY=true"
    ]


def test_it_reports_every_problem_at_once() -> None:
    assert len(problems_for({"DEBUG": "maybe", "RUNMODE": "x", "DB_URL": "y"})) == 3


def test_it_redacts_secrets_when_printing_the_configuration() -> None:
    loaded = config.load(
        {
            "SECRET_KEY": "s3cr3t-value-that-must-not-print",
            "DATABASE_URL": "postgres://app:hunter2@127.0.0.1:5432/polyhunter",
            "REDIS_URL": "redis://:redispw@127.0.0.1:6379/1",
            "ENCRYPTION_KEYS": f"k2:{KEY}",
        }
    )
    shown = " ".join(value for _, value, _ in loaded.redacted())
    for secret in ("s3cr3t-value-that-must-not-print", "hunter2", "redispw", KEY):
        assert secret not in shown
    assert "postgres://app:***@127.0.0.1:5432/polyhunter" in shown
    assert "*** (1 key(s): k2)" in shown


def documented_names(text: str) -> set[str]:
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", text, flags=re.MULTILINE))


def test_it_documents_every_variable_in_the_readme_and_env_example() -> None:
    declared = {v.name for v in config.VARIABLES}
    assert documented_names((ROOT / "README.md").read_text()) == declared
    example = (ROOT / ".env.example").read_text()
    assert set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE)) == declared


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(tuple(config.NAMESPACES))
        and k not in {"DATABASE_URL", "REDIS_URL", "ENCRYPTION_KEYS", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_config_exits_non_zero_and_names_encryption_keys_for_encryption_key() -> None:
    result = run_manage("check_config", env={"ENCRYPTION_KEY": "x"})
    assert result.returncode != 0
    assert "found ENCRYPTION_KEY, expected ENCRYPTION_KEYS" in result.stderr
    assert "Traceback" not in result.stderr


def test_finding_5_check_config_prints_no_mail_password_and_no_rpc_key() -> None:
    """Issue #18, finding 5. Failed before the fix: EMAIL_URL and POLYGON_RPC_URL printed in clear."""
    key = "AlchemyKeyAbc123DEF456ghi789JKL0"
    result = run_manage(
        "check_config",
        "--offline",
        env={
            "EMAIL_URL": "smtp+tls://mailer:Mailpw-s3cret@smtp.example.com:587",
            "POLYGON_RPC_URL": f"https://polygon-mainnet.g.alchemy.com/v2/{key}",
            "POLYGON_WS_URL": f"wss://polygon-mainnet.g.alchemy.com/v2/{key}",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "Mailpw-s3cret" not in result.stdout
    assert key not in result.stdout
    assert "smtp+tls://mailer:***@smtp.example.com:587" in result.stdout
    assert "https://polygon-mainnet.g.alchemy.com/v2/***" in result.stdout


def test_check_config_prints_the_configuration_with_secrets_redacted() -> None:
    result = run_manage("check_config", "--offline", env={"SECRET_KEY": "x" * 60})
    assert result.returncode == 0, result.stderr
    assert "SECRET_KEY" in result.stdout
    assert "x" * 60 not in result.stdout
    assert "configuration OK" in result.stdout


FLEET_PHRASE = "abandon " * 11 + "about"  # BIP-39's first published vector


def test_it_reads_the_fleet_and_redacts_its_phrase() -> None:
    loaded = config.load(
        {
            "TRADING_MNEMONIC": FLEET_PHRASE.upper(),
            "FLEET_SIZE": "4",
            "FLEET_SETTLEMENT_ADDRESS": "0x" + "5e" * 20,
            "POLYGON_RPC_URL": "http://127.0.0.1:8545",
        }
    )
    assert (loaded["TRADING_MNEMONIC"], loaded["FLEET_SIZE"]) == (FLEET_PHRASE, 4)
    shown = dict((name, value) for name, value, _ in loaded.redacted())
    assert shown["TRADING_MNEMONIC"] == "***"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"FLEET_SIZE": "2"}, "TRADING_MNEMONIC: required when FLEET_SIZE is above 0"),
        ({"TRADING_MNEMONIC": "abandon " * 12}, "checksum does not match"),
        ({"TRADING_MNEMONIC": "abandon about"}, "got 2 words"),
        ({"MNEMONIC": FLEET_PHRASE}, "found MNEMONIC, expected TRADING_MNEMONIC"),
        ({"FLEET_COUNT": "3"}, "found FLEET_COUNT, expected FLEET_SIZE"),
        ({"TRADING_MNEMONICS": FLEET_PHRASE}, "expected TRADING_MNEMONIC"),
        ({"FLEET_SIZE": "1001", "TRADING_MNEMONIC": FLEET_PHRASE}, "FLEET_SIZE: at most 1000"),
        ({"FLEET_SIZE": "1", "TRADING_MNEMONIC": FLEET_PHRASE}, "FLEET_SETTLEMENT_ADDRESS: required"),
        ({"FLEET_SETTLEMENT_ADDRESS": "0x12"}, "not a 0x-prefixed 20-byte address"),
    ],
)
def test_it_refuses_a_bad_or_misnamed_fleet_setting(env: dict[str, str], expected: str) -> None:
    with pytest.raises(config.ConfigurationError) as caught:
        config.load(env)
    assert expected in str(caught.value)
    assert "abandon" not in str(caught.value)  # the phrase (or a word of it) is never echoed
