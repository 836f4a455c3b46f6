"""Strict, declarative environment configuration.

Every variable PolyHunter reads is declared once in ``VARIABLES`` with its type, default and
documentation; README.md and .env.example are checked against this table by the tests. Reading
a variable that is not declared is impossible (settings only see ``Config``), a malformed value
fails at start naming the variable, and a *misnamed* variable (a known alias, or an unknown name
in one of our namespaces) fails too, saying which name was found and which one was expected.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from polyhunter.log_redaction import scrub_url

BASE_DIR = Path(__file__).resolve().parent.parent

RUN_MODES = ("shared_backend", "user_dedicated")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("plain", "json")

# Exchange contracts whose OrderFilled logs the chain detector reads:
# CTFExchangeV2, NegRiskCtfExchangeV2, ExchangeV3, and the two legacy V1 exchanges (history).
DEFAULT_EXCHANGES = ",".join(
    [
        "0xe111180000d2663c0091e4f400237545b87b996b",
        "0xe2222d279d744050d28e00520010520000310f59",
        "0xe3333700ca9d93003f00f0f71f8515005f6c00aa",
        "0x4bfb41d5b3570defd03c39a9a4d8de6bd8b8982e",
        "0xc5d563a36ae78145c45a50134d48a1215220f80a",
    ]
)


# Public (it is in this file): good for the embedded demo only, refused with any other database.
SECRET_KEY_DEFAULT = "django-insecure-polyhunter-embedded-default-change-me-in-production"  # noqa: S105


class ConfigurationError(ImproperlyConfigured):
    """Raised at start when the environment is malformed; carries every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Var:
    name: str
    kind: str
    default: str
    help: str
    secret: bool = False
    choices: tuple[str, ...] = ()


VARIABLES: tuple[Var, ...] = (
    Var("DEBUG", "bool", "false", "Django debug pages. Never true in production."),
    Var(
        "SECRET_KEY",
        "str",
        SECRET_KEY_DEFAULT,
        "Django signing key (sessions, CSRF). Required (random, 50+ characters) unless embedded SQLite.",
        secret=True,
    ),
    Var("ALLOWED_HOSTS", "list", "localhost,127.0.0.1,[::1]", "Host names the web process answers."),
    Var("CSRF_TRUSTED_ORIGINS", "list", "", "Extra origins trusted for CSRF, e.g. https://polyhunter.example."),
    Var("SECURE_SSL_REDIRECT", "bool", "false", "Redirect HTTP to HTTPS (production behind TLS)."),
    Var("SECURE_HSTS_SECONDS", "int", "0", "HSTS max-age; set e.g. 31536000 once HTTPS is permanent."),
    Var(
        "SECURE_HSTS_PRELOAD",
        "bool",
        "false",
        "Ask browsers to preload HSTS (only once the domain is committed to HTTPS).",
    ),
    Var("SESSION_COOKIE_SECURE", "bool", "false", "Send the session cookie over HTTPS only."),
    Var("CSRF_COOKIE_SECURE", "bool", "false", "Send the CSRF cookie over HTTPS only."),
    Var(
        "BEHIND_TLS_PROXY",
        "bool",
        "false",
        "Behind a reverse proxy: trust its X-Forwarded-Proto=https and its X-Forwarded-For client address.",
    ),
    Var(
        "TRUSTED_PROXY_COUNT",
        "int",
        "1",
        "With BEHIND_TLS_PROXY: how many proxies append to X-Forwarded-For; the client address (login "
        "lockout, sign-up and password-reset throttles) is that many entries from the right.",
    ),
    Var(
        "DATABASE_URL",
        "database",
        "sqlite:///var/polyhunter.sqlite3",
        "postgres://user:pass@host:5432/name for production; default is embedded SQLite (relative to the project).",
        secret=True,
    ),
    Var("DATABASE_CONN_MAX_AGE", "int", "60", "Seconds a database connection is reused (PostgreSQL)."),
    Var(
        "REDIS_URL",
        "redis",
        "",
        "redis://host:6379/0 selects the Redis broker, rate limits and scheduler lock; empty = in-process broker.",
        secret=True,
    ),
    Var("RUN_MODE", "choice", "shared_backend", "Which relationships this process serves.", choices=RUN_MODES),
    Var("DEPLOYMENT_ID", "slug", "", "Key of this process's Deployment; required when RUN_MODE=user_dedicated."),
    Var(
        "ENCRYPTION_KEYS",
        "keyring",
        "",
        "id:base64(32 bytes),… — first is current. Empty is allowed only with embedded SQLite "
        "(a key file var/encryption.key is created).",
        secret=True,
    ),
    Var("POLYMARKET_CLOB_URL", "url", "http://127.0.0.1:8765", "CLOB REST base URL (default: local simulator)."),
    Var("POLYMARKET_DATA_URL", "url", "http://127.0.0.1:8765", "Data API base URL (default: local simulator)."),
    Var("POLYMARKET_CHAIN_ID", "int", "137", "Chain id of the EIP-712 order and auth domains."),
    Var("VENUE_CONNECT_TIMEOUT", "decimal", "1.0", "Seconds to open a venue connection (then: never sent)."),
    Var("VENUE_READ_TIMEOUT", "decimal", "3.0", "Seconds to wait for a venue answer (then: outcome unknown)."),
    Var(
        "VENUE_CLOCK_MAX_OFFSET_SECONDS",
        "decimal",
        "5",
        "Readiness flags this host's clock (venue GET /time minus local) when further off than this many seconds.",
    ),
    Var(
        "POLYGON_RPC_URL",
        "url_or_empty",
        "",
        "Polygon JSON-RPC for OrderFilled logs; empty disables chain detection.",
        secret=True,  # providers put the API key in the path or the query
    ),
    Var("POLYGON_WS_URL", "url_or_empty", "", "Optional Polygon WebSocket for log subscriptions.", secret=True),
    Var("POLYGON_EXCHANGE_ADDRESSES", "addresses", DEFAULT_EXCHANGES, "Exchange contracts whose fills are read."),
    Var("DETECT_CONFIRMATIONS", "int", "3", "Blocks a log must be buried under before it is trusted."),
    Var("DETECT_MAX_AGE_SECONDS", "int", "120", "Leader trades older than this when detected are never copied."),
    Var("DETECT_POLL_SECONDS", "decimal", "2.0", "Interval of the Data API poll per leader."),
    Var("SIMULATOR_PORT", "int", "8765", "Port of the local simulated venue started by the embedded mode."),
    Var("LOG_LEVEL", "choice", "INFO", "Root log level.", choices=LOG_LEVELS),
    Var(
        "LOG_FORMAT",
        "choice",
        "plain",
        "plain: one text line per record; json: one JSON object per line (time, level, logger, message, traceback).",
        choices=LOG_FORMATS,
    ),
    Var(
        "METRICS_TOKEN",
        "str",
        "",
        "Bearer token a scraper sends to GET /metrics (Authorization: Bearer …). Secret: shown redacted.",
        secret=True,
    ),
    Var(
        "METRICS_ALLOWED_NETWORKS",
        "networks",
        "",
        "Networks (CIDR, comma-separated) whose addresses may read /metrics without the token. With neither "
        "this nor METRICS_TOKEN, /metrics is refused (public only in the embedded demo).",
    ),
    Var(
        "WORKER_METRICS_ADDRESS",
        "str",
        "127.0.0.1",
        "Address the rundramatiq metrics server binds (loopback unless set, e.g. 0.0.0.0 for a scraper elsewhere).",
    ),
    Var("WORKER_METRICS_PORT", "int", "9191", "Port of the rundramatiq metrics server (rundramatiq --metrics-port)."),
    Var(
        "METRICS_DIR",
        "str",
        "var/metrics",
        "Where multi-process servers (gunicorn, rundramatiq) keep per-process metric files, one folder per process "
        "group (relative to the project unless absolute).",
    ),
    Var(
        "ARCHIVE_RETENTION_DAYS",
        "int",
        "90",
        "Age past which the weekly archive job moves finished copy trades, leader trades and audit rows to archive "
        "tables; 0 turns the weekly job off.",
    ),
    Var(
        "EMAIL_URL",
        "email",
        "consolemail://",
        "Outgoing mail (password reset), e.g. smtp+tls://user:pass@host:587.",
        secret=True,
    ),
    Var("DEFAULT_FROM_EMAIL", "str", "PolyHunter <noreply@polyhunter.local>", "Sender of outgoing mail."),
    Var(
        "TRADING_MNEMONIC",
        "mnemonic",
        "",
        "BIP-39 phrase (12-24 English words) of the fleet's operator wallets, derived at m/44'/60'/0'/0/i; "
        "keys are derived in memory where they sign, never stored. Required when FLEET_SIZE > 0.",
        secret=True,
    ),
    Var("FLEET_SIZE", "int", "0", "How many operator wallets (indexes 0..n-1) fleet mode uses; 0 = fleet mode off."),
    Var(
        "FLEET_SETTLEMENT_ADDRESS",
        "address_or_empty",
        "",
        "Our FleetSettlement contract (followers' pUSD allowance goes to it); settlement reads and sends through "
        "POLYGON_RPC_URL. Required when FLEET_SIZE > 0.",
    ),
    Var("FLEET_PUSD_ADDRESS", "address_or_empty", "0xc011a7e12a19f7b1f670d46f03b03f3342e82dfb", "pUSD token."),
    Var(
        "FLEET_CTF_ADDRESS",
        "address_or_empty",
        "0x4d97dcd97ec945f40cf65f87097ace5ea0476045",
        "ConditionalTokens (ERC-1155 shares) contract.",
    ),
)

VARIABLE_NAMES = frozenset(v.name for v in VARIABLES)

# Names people (and other systems we replace) actually set by mistake. Finding one of these is
# an error even when the right name is also present: the wrong one was meant to do something.
ALIASES: Mapping[str, str] = {
    "ENCRYPTION_KEY": "ENCRYPTION_KEYS",
    "ENCRYPTION_SECRET": "ENCRYPTION_KEYS",
    "FERNET_KEY": "ENCRYPTION_KEYS",
    "FERNET_KEYS": "ENCRYPTION_KEYS",
    "DB_URL": "DATABASE_URL",
    "DATABASE_URI": "DATABASE_URL",
    "DATABASE": "DATABASE_URL",
    "POSTGRES_URL": "DATABASE_URL",
    "POSTGRESQL_URL": "DATABASE_URL",
    "PG_URL": "DATABASE_URL",
    "REDIS_URI": "REDIS_URL",
    "REDIS_HOST": "REDIS_URL",
    "BROKER_URL": "REDIS_URL",
    "DRAMATIQ_BROKER_URL": "REDIS_URL",
    "RUNMODE": "RUN_MODE",
    "RUN_TYPE": "RUN_MODE",
    "MODE": "RUN_MODE",
    "DEPLOYMENT": "DEPLOYMENT_ID",
    "DEPLOYMENTID": "DEPLOYMENT_ID",
    "DJANGO_SECRET_KEY": "SECRET_KEY",
    "DJANGO_DEBUG": "DEBUG",
    "DJANGO_ALLOWED_HOSTS": "ALLOWED_HOSTS",
    "CLOB_URL": "POLYMARKET_CLOB_URL",
    "CLOB_HOST": "POLYMARKET_CLOB_URL",
    "CLOB_API_URL": "POLYMARKET_CLOB_URL",
    "DATA_API_URL": "POLYMARKET_DATA_URL",
    "CHAIN_ID": "POLYMARKET_CHAIN_ID",
    "RPC_URL": "POLYGON_RPC_URL",
    "POLYGON_RPC": "POLYGON_RPC_URL",
    "WS_URL": "POLYGON_WS_URL",
    "MNEMONIC": "TRADING_MNEMONIC",
    "SEED_PHRASE": "TRADING_MNEMONIC",
    "OPERATOR_MNEMONIC": "TRADING_MNEMONIC",
    "FLEET_MNEMONIC": "TRADING_MNEMONIC",
    "BOT_MNEMONIC": "TRADING_MNEMONIC",
    "WALLET_MNEMONIC": "TRADING_MNEMONIC",
    "TRADING_SEED": "TRADING_MNEMONIC",
    "FLEET_COUNT": "FLEET_SIZE",
    "FLEET_WALLETS": "FLEET_SIZE",
    "OPERATOR_COUNT": "FLEET_SIZE",
}

# An unknown variable inside one of these namespaces is a typo of ours, never somebody else's.
NAMESPACES = (
    "POLYHUNTER_",
    "POLYMARKET_",
    "POLYGON_",
    "VENUE_",
    "DETECT_",
    "ENCRYPTION_",
    "DEPLOYMENT_",
    "SIMULATOR_",
    "RUN_",
    "METRICS_",
    "WORKER_METRICS_",
    "ARCHIVE_",
    "TRADING_",
    "FLEET_",
)

MAX_FLEET_SIZE = 1000
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Config:
    """The parsed environment. Settings read only this; nothing else reads os.environ."""

    values: Mapping[str, Any]
    raw: Mapping[str, str]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def embedded(self) -> bool:
        return bool(self.values["DATABASE_URL"]["ENGINE"].endswith("sqlite3"))

    def secret_values(self) -> list[tuple[str, str]]:
        """(kind, value) of every secret variable set in the environment (for log redaction)."""
        return [(var.kind, self.raw[var.name]) for var in VARIABLES if var.secret and self.raw.get(var.name)]

    def redacted(self) -> list[tuple[str, str, str]]:
        """(name, effective value, origin) for every variable, secrets redacted."""
        rows = []
        for var in VARIABLES:
            origin = "env" if var.name in self.raw else "default"
            shown = self.raw.get(var.name, var.default)
            if var.secret and shown:
                shown = _redact(var, shown)
            rows.append((var.name, shown, origin))
        return rows


def _redact(var: Var, value: str) -> str:
    if var.kind in ("database", "redis", "email", "url", "url_or_empty"):
        # Host and plain path stay readable; passwords, key-like path segments and query values go.
        return scrub_url(value) if "://" in value else "***"
    if var.kind == "keyring":
        ids = [item.split(":", 1)[0] for item in value.split(",") if item.strip()]
        return f"*** ({len(ids)} key(s): {', '.join(ids)})"
    return "***"


def misnamed(environ_: Mapping[str, str]) -> list[str]:
    problems = []
    for name in sorted(environ_):
        if name in VARIABLE_NAMES:
            continue
        if name in ALIASES:
            problems.append(f"found {name}, expected {ALIASES[name]}")
        elif name.startswith(NAMESPACES):
            close = difflib.get_close_matches(name, sorted(VARIABLE_NAMES), n=1, cutoff=0.6)
            hint = f", expected {close[0]}" if close else ""
            problems.append(f"found {name}, which PolyHunter does not read{hint}")
    return problems


def load(environ_: Mapping[str, str]) -> Config:
    """Parse and validate the environment, raising ConfigurationError with every problem."""
    problems = misnamed(environ_)
    raw = {v.name: environ_[v.name] for v in VARIABLES if v.name in environ_}
    values: dict[str, Any] = {}
    for var in VARIABLES:
        text = raw.get(var.name, var.default).strip()
        try:
            values[var.name] = _parse(var, text)
        except ValueError as exc:
            problems.append(f"{var.name}: {exc}")
    if not problems:
        problems.extend(_cross_checks(values, raw))
    if problems:
        raise ConfigurationError(problems)
    return Config(values=values, raw=raw)


def _cross_checks(values: Mapping[str, Any], raw: Mapping[str, str]) -> list[str]:
    problems = []
    if values["RUN_MODE"] == "user_dedicated" and not values["DEPLOYMENT_ID"]:
        problems.append("DEPLOYMENT_ID: required when RUN_MODE=user_dedicated")
    if values["RUN_MODE"] == "shared_backend" and values["DEPLOYMENT_ID"]:
        problems.append("DEPLOYMENT_ID: only valid with RUN_MODE=user_dedicated (shared workers use 'shared')")
    embedded = values["DATABASE_URL"]["ENGINE"].endswith("sqlite3")
    if not embedded and not values["ENCRYPTION_KEYS"]:
        problems.append("ENCRYPTION_KEYS: required when DATABASE_URL is not the embedded SQLite database")
    if values["BEHIND_TLS_PROXY"] and values["TRUSTED_PROXY_COUNT"] < 1:
        problems.append("TRUSTED_PROXY_COUNT: must be at least 1 with BEHIND_TLS_PROXY=true")
    if values["FLEET_SIZE"] and not values["TRADING_MNEMONIC"]:
        problems.append("TRADING_MNEMONIC: required when FLEET_SIZE is above 0 (the operator wallets come from it)")
    if values["FLEET_SIZE"] and not (values["FLEET_SETTLEMENT_ADDRESS"] and values["POLYGON_RPC_URL"]):
        problems.append("FLEET_SETTLEMENT_ADDRESS: required, with POLYGON_RPC_URL, when FLEET_SIZE is above 0")
    if values["FLEET_SIZE"] > MAX_FLEET_SIZE:
        problems.append(f"FLEET_SIZE: at most {MAX_FLEET_SIZE}, got {values['FLEET_SIZE']}")
    if not embedded and values["SECRET_KEY"] == SECRET_KEY_DEFAULT:
        problems.append(
            "SECRET_KEY: the public default is refused when DATABASE_URL is not the embedded SQLite "
            "database; set a random value of 50+ characters"
        )
    return problems


def _parse(var: Var, text: str) -> Any:
    parser = _PARSERS[var.kind]
    return parser(var, text)


def _parse_bool(var: Var, text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"expected a boolean (true/false/1/0/yes/no/on/off), got {text!r}")


def _parse_int(var: Var, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


def _parse_decimal(var: Var, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"expected a decimal number, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"expected a positive finite number, got {text!r}")
    return value


def _parse_str(var: Var, text: str) -> str:
    if var.name == "SECRET_KEY" and not text:
        raise ValueError("must not be empty")
    return text


def _parse_list(var: Var, text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _parse_choice(var: Var, text: str) -> str:
    if text not in var.choices:
        raise ValueError(f"expected one of {', '.join(var.choices)}, got {text!r}")
    return text


def _parse_slug(var: Var, text: str) -> str:
    if text and not _SLUG.match(text):
        raise ValueError(f"expected a lower-case slug ([a-z0-9_-], max 63), got {text!r}")
    return text


def _parse_url(var: Var, text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise ValueError(f"expected an http(s):// or ws(s):// URL with a host, got {text!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError(f"malformed port in {text!r}") from None
    return text.rstrip("/")


def _parse_url_or_empty(var: Var, text: str) -> str:
    return _parse_url(var, text) if text else ""


def _parse_database(var: Var, text: str) -> dict[str, Any]:
    scheme = urlsplit(text).scheme
    if scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
        raise ValueError(f"expected a sqlite:/// or postgres:// URL, got scheme {scheme!r}")
    config: dict[str, Any] = environ.Env.db_url_config(text)
    if scheme != "sqlite":
        if not config.get("NAME") or not config.get("HOST"):
            raise ValueError("a postgres:// URL needs a host and a database name")
        config["ENGINE"] = "django_prometheus.db.backends.postgresql"
    else:
        name = config.get("NAME") or ""
        if not name or name == ":memory:":
            raise ValueError("a sqlite URL needs a file path (sqlite:///path/to/db.sqlite3)")
        path = Path(name)
        config["NAME"] = str(path if path.is_absolute() else BASE_DIR / path)
        config["ENGINE"] = "django_prometheus.db.backends.sqlite3"
    return config


def _parse_redis(var: Var, text: str) -> str:
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("redis", "rediss", "unix") or (parts.scheme != "unix" and not parts.hostname):
        raise ValueError(f"expected a redis://host:port/db URL, got {_redact(var, text)!r}")
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise ValueError(f"the Redis database must be a number, got {db!r}")
    return text


def _parse_keyring(var: Var, text: str) -> list[tuple[str, bytes]]:
    keys: list[tuple[str, bytes]] = []
    for position, item in enumerate(i.strip() for i in text.split(",") if i.strip()):
        key_id, sep, encoded = item.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise ValueError(f"entry {position + 1} must be id:base64key with id in [A-Za-z0-9_-]")
        try:
            material = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"key {key_id!r} is not valid base64") from None
        if len(material) != 32:
            raise ValueError(f"key {key_id!r} must decode to 32 bytes (AES-256), got {len(material)}")
        if any(key_id == existing for existing, _ in keys):
            raise ValueError(f"key id {key_id!r} appears twice")
        keys.append((key_id, material))
    return keys


def _parse_addresses(var: Var, text: str) -> list[str]:
    items = _parse_list(var, text)
    bad = [a for a in items if not _ADDRESS.match(a)]
    if bad:
        raise ValueError(f"not 0x-prefixed 20-byte addresses: {', '.join(bad)}")
    return [a.lower() for a in items]


def _parse_address_or_empty(var: Var, text: str) -> str:
    if text and not _ADDRESS.match(text):
        raise ValueError(f"not a 0x-prefixed 20-byte address: {text!r}")
    return text.lower()


def _parse_networks(var: Var, text: str) -> list[str]:
    networks = []
    for item in _parse_list(var, text):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"not a network in CIDR form (e.g. 10.0.0.0/8): {item!r}") from None
    return networks


def _parse_mnemonic(var: Var, text: str) -> str:
    # Never echo the phrase (or a word of it) back in the error: it is the fleet's only key.
    words = text.split()
    if not words:
        return ""
    if len(words) not in (12, 15, 18, 21, 24):
        raise ValueError(f"expected a BIP-39 phrase of 12, 15, 18, 21 or 24 words, got {len(words)} words")
    from eth_account.hdaccount.mnemonic import Mnemonic
    from eth_account.types import Language

    phrase = " ".join(w.lower() for w in words)
    if not Mnemonic(Language.ENGLISH).is_mnemonic_valid(phrase):
        raise ValueError("not a valid English BIP-39 phrase (a word is misspelt or the checksum does not match)")
    return phrase


def _parse_email(var: Var, text: str) -> dict[str, Any]:
    try:
        config: dict[str, Any] = environ.Env.email_url_config(text)
    except (KeyError, ImproperlyConfigured):
        raise ValueError(f"unknown email URL scheme in {text.split(':', 1)[0]!r}") from None
    return config


_PARSERS = {
    "bool": _parse_bool,
    "int": _parse_int,
    "decimal": _parse_decimal,
    "str": _parse_str,
    "list": _parse_list,
    "choice": _parse_choice,
    "slug": _parse_slug,
    "url": _parse_url,
    "url_or_empty": _parse_url_or_empty,
    "database": _parse_database,
    "redis": _parse_redis,
    "keyring": _parse_keyring,
    "addresses": _parse_addresses,
    "email": _parse_email,
    "networks": _parse_networks,
    "mnemonic": _parse_mnemonic,
    "address_or_empty": _parse_address_or_empty,
}
