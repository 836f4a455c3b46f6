"""Django settings. Every value comes from ``polyhunter.config`` (strict, declared variables)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django_stubs_ext

from polyhunter import config as _config

django_stubs_ext.monkeypatch()

BASE_DIR = _config.BASE_DIR
CONFIG = _config.load(os.environ)
EMBEDDED = CONFIG.embedded

# The worker's idle poll: dramatiq's default of 1 s adds up to ~0.7 s of latency after an idle
# period; 100 ms keeps the first copy fast. Read by dramatiq.worker at import, so set it here,
# before any worker module is imported (rundramatiq passes the environment on).
os.environ.setdefault("dramatiq_worker_timeout", "100")
# Prefetched messages are stranded with a crashed worker for >= 60 s.
os.environ.setdefault("dramatiq_queue_prefetch", "2")

DEBUG: bool = CONFIG["DEBUG"]
SECRET_KEY: str = CONFIG["SECRET_KEY"]
ALLOWED_HOSTS: list[str] = CONFIG["ALLOWED_HOSTS"]
CSRF_TRUSTED_ORIGINS: list[str] = CONFIG["CSRF_TRUSTED_ORIGINS"]
SECURE_SSL_REDIRECT: bool = CONFIG["SECURE_SSL_REDIRECT"]
SECURE_HSTS_SECONDS: int = CONFIG["SECURE_HSTS_SECONDS"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD: bool = CONFIG["SECURE_HSTS_PRELOAD"]
SESSION_COOKIE_SECURE: bool = CONFIG["SESSION_COOKIE_SECURE"]
CSRF_COOKIE_SECURE: bool = CONFIG["CSRF_COOKIE_SECURE"]
BEHIND_TLS_PROXY: bool = CONFIG["BEHIND_TLS_PROXY"]
TRUSTED_PROXY_COUNT: int = CONFIG["TRUSTED_PROXY_COUNT"]
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_prometheus",
    # Before django_dramatiq: polyhunter's rundramatiq (the same command, with its metrics set
    # up for several processes) takes precedence over django_dramatiq's.
    "polyhunter.apps.PolyhunterConfig",
    "django_dramatiq",
    "dramatiq_crontab",
    "django_htmx",
    "axes",
    "accounts",
    "execution",
    "copytrading",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "polyhunter.urls"
WSGI_APPLICATION = "polyhunter.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "landing"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_db: dict[str, Any] = dict(CONFIG["DATABASE_URL"])
if EMBEDDED:
    # A fresh clone has no var/ (it is ignored by git): SQLite needs the directory to exist.
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web thread read while the in-process worker writes; IMMEDIATE transactions
    # take the write lock up front so two writers wait (busy timeout) instead of deadlocking.
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    _db["CONN_MAX_AGE"] = CONFIG["DATABASE_CONN_MAX_AGE"]
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

REDIS_URL: str = CONFIG["REDIS_URL"]
if REDIS_URL:
    DRAMATIQ_BROKER = {
        # dramatiq's RedisBroker, with idle consumers woken by new messages (no polling latency).
        "BROKER": "polyhunter.broker.WakingRedisBroker",
        "OPTIONS": {"url": REDIS_URL},
        "MIDDLEWARE": [
            "dramatiq.middleware.prometheus.Prometheus",
            "dramatiq.middleware.AgeLimit",
            "dramatiq.middleware.TimeLimit",
            "dramatiq.middleware.Callbacks",
            "dramatiq.middleware.Retries",
            "django_dramatiq.middleware.DbConnectionsMiddleware",
        ],
    }
    DRAMATIQ_RATE_LIMITER_BACKEND = {
        "BACKEND": "dramatiq.rate_limits.backends.redis.RedisBackend",
        "BACKEND_OPTIONS": {"url": REDIS_URL},
    }
    DRAMATIQ_CRONTAB = {"REDIS_URL": REDIS_URL}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Embedded mode: messages stay in this process and an in-process worker consumes them
    # (copytrading.embedded). No AdminMiddleware: it would copy every message into the
    # database and the admin.
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": [
            "dramatiq.middleware.AgeLimit",
            "dramatiq.middleware.TimeLimit",
            "dramatiq.middleware.Callbacks",
            "dramatiq.middleware.Retries",
            "django_dramatiq.middleware.DbConnectionsMiddleware",
        ],
    }
    DRAMATIQ_RATE_LIMITER_BACKEND = {"BACKEND": "dramatiq.rate_limits.backends.stub.StubBackend"}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]

RUN_MODE: str = CONFIG["RUN_MODE"]
DEPLOYMENT_ID: str = CONFIG["DEPLOYMENT_ID"] or "shared"
# Seconds a worker's claim on a copy trade lasts (copytrading.pipeline.leases); past it another
# worker or the reconciler may take the row over. A constant, not a variable: tests shorten it.
COPY_LEASE_SECONDS: int = 30
ENCRYPTION_KEYS: list[tuple[str, bytes]] = CONFIG["ENCRYPTION_KEYS"]
ENCRYPTION_KEY_FILE = BASE_DIR / "var" / "encryption.key"
# Fleet mode (docs/fleet.md). The "_SECRET" suffix is what makes Django's error reporter hide the
# phrase on a debug page; execution.fleet.keys is the one reader and derives keys where they sign.
FLEET_SIZE: int = CONFIG["FLEET_SIZE"]
TRADING_MNEMONIC_SECRET: str = CONFIG["TRADING_MNEMONIC"]
FLEET_SETTLEMENT_ADDRESS: str = CONFIG["FLEET_SETTLEMENT_ADDRESS"]
FLEET_PUSD_ADDRESS: str = CONFIG["FLEET_PUSD_ADDRESS"]
FLEET_CTF_ADDRESS: str = CONFIG["FLEET_CTF_ADDRESS"]

POLYMARKET_CLOB_URL: str = CONFIG["POLYMARKET_CLOB_URL"]
POLYMARKET_DATA_URL: str = CONFIG["POLYMARKET_DATA_URL"]
POLYMARKET_CHAIN_ID: int = CONFIG["POLYMARKET_CHAIN_ID"]
VENUE_CONNECT_TIMEOUT = float(CONFIG["VENUE_CONNECT_TIMEOUT"])
VENUE_READ_TIMEOUT = float(CONFIG["VENUE_READ_TIMEOUT"])
VENUE_CLOCK_MAX_OFFSET_SECONDS = float(CONFIG["VENUE_CLOCK_MAX_OFFSET_SECONDS"])
POLYGON_RPC_URL: str = CONFIG["POLYGON_RPC_URL"]
POLYGON_WS_URL: str = CONFIG["POLYGON_WS_URL"]
POLYGON_EXCHANGE_ADDRESSES: list[str] = CONFIG["POLYGON_EXCHANGE_ADDRESSES"]
DETECT_CONFIRMATIONS: int = CONFIG["DETECT_CONFIRMATIONS"]
DETECT_MAX_AGE_SECONDS: int = CONFIG["DETECT_MAX_AGE_SECONDS"]
DETECT_POLL_SECONDS = float(CONFIG["DETECT_POLL_SECONDS"])
SIMULATOR_PORT: int = CONFIG["SIMULATOR_PORT"]

# /metrics (polyhunter.metrics): a bearer token or allowed networks; public only when embedded
# with neither set (the demo). Worker pools serve theirs on WORKER_METRICS_ADDRESS (loopback).
METRICS_TOKEN: str = CONFIG["METRICS_TOKEN"]
METRICS_ALLOWED_NETWORKS: list[str] = CONFIG["METRICS_ALLOWED_NETWORKS"]
METRICS_PUBLIC = EMBEDDED and not METRICS_TOKEN and not METRICS_ALLOWED_NETWORKS
WORKER_METRICS_ADDRESS: str = CONFIG["WORKER_METRICS_ADDRESS"]
WORKER_METRICS_PORT: int = CONFIG["WORKER_METRICS_PORT"]
METRICS_DIR = (
    Path(CONFIG["METRICS_DIR"]) if Path(CONFIG["METRICS_DIR"]).is_absolute() else BASE_DIR / CONFIG["METRICS_DIR"]
)
ARCHIVE_RETENTION_DAYS: int = CONFIG["ARCHIVE_RETENTION_DAYS"]

_email: dict[str, Any] = CONFIG["EMAIL_URL"]
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
DEFAULT_FROM_EMAIL: str = CONFIG["DEFAULT_FROM_EMAIL"]

# Login rate limit (django-axes): 5 failures lock a username (from any address) and, separately,
# an address (over any usernames: password spraying) for 15 minutes. The address is the real
# client's behind our proxies (polyhunter.client_address), never the proxy's own. A success does
# not wipe the failures: it would wipe the address's count too, and a sprayer owning one account
# could reset it at will.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "polyhunter.client_address.client_address"
AXES_RESET_ON_SUCCESS = False

# Every handler carries the "redact" filter (polyhunter.log_redaction): it scrubs the message,
# renders the traceback scrubbed into exc_text and clears exc_info, and scrubs extra fields, so
# any formatter (plain or JSON) writes only scrubbed text as long as it prints exc_text.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "polyhunter.log_redaction.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "polyhunter.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": CONFIG["LOG_FORMAT"], "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": CONFIG["LOG_LEVEL"]},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "apscheduler": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # The embedded mode runs two in-process workers (exits get their own) on one StubBroker,
        # which dramatiq reports as a duplicate middleware; it is intended.
        "dramatiq.broker.StubBroker": {"level": "ERROR"},
    },
}
