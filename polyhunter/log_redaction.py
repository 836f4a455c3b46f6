"""Secrets out of every output: one redaction for log records (messages, tracebacks, extra
fields) and for the error texts we store (DetectorState.last_error, venue error details).

Secrets are kept out of log calls by construction (ids only in actors, no credentials in our
exceptions); this is the last line of defence for what libraries put in their messages: the
configuration's own secrets wherever they appear, URLs (credentials, API keys in the path or the
query: RPC and mail URLs), ``Authorization`` / ``Bearer`` / ``Basic`` values, ``secret=`` /
``password=`` / ``passphrase=`` / ``private_key=`` pairs and JSON fields of those names, and bare
64-hex strings (a private key looks like that; so do transaction and order hashes, which is why
our log lines name them by ``short_hash``).

``RedactSecretsFilter`` is the one component: every handler in LOGGING carries it, so whatever
formatter renders a record (plain text, JSON) sees only scrubbed text. It renders the traceback
itself, scrubbed, into ``record.exc_text`` and clears ``exc_info``: a formatter prints
``exc_text`` (as logging.Formatter does) and cannot render the raw exception again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

REDACTED = "[redacted]"
_PAIR = re.compile(
    r"""(?ix)
    (?P<name>["']?(?:poly[_-](?:signature|passphrase|api[_-]key)|api[_-]?secret|client[_-]?secret|secret
        |passphrase|private[_-]?key|api[_-]?key|access[_-]?token|refresh[_-]?token|password|passwd
        |authorization)["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<value>"[^"]*"|'[^']*'|(?:bearer\s+|basic\s+)?[^\s,;&}]+)
    """
)
_SCHEME_TOKEN = re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_HEX64 = re.compile(r"(?<![0-9A-Za-z])(?:0x)?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'\"<>(){}\[\],]+")
# A path with no scheme, as an HTTP library quotes it ("Max retries exceeded with url: /v2/KEY").
_BARE_PATH = re.compile(r"(?i)(?P<lead>\burl:\s*)(?P<path>/[^\s'\"<>()]*)")
# A path segment that reads as a word (``v2``, ``order``, ``rpc``) is kept; anything longer or
# made of many digits may be an API key (Alchemy, Infura and QuickNode put theirs there).
_PLAIN_SEGMENT = re.compile(r"^(?=.{0,20}$)[A-Za-z_.-]*[0-9]{0,3}[A-Za-z_.-]*$")


def redact(text: str) -> str:
    """``text`` with every secret we can recognise replaced."""
    for secret in _configured_secrets():
        text = text.replace(secret, REDACTED)
    text = _URL.sub(lambda m: scrub_url(m.group(0)), text)
    text = _BARE_PATH.sub(lambda m: m.group("lead") + _scrub_path_and_query(m.group("path")), text)
    text = _SCHEME_TOKEN.sub(lambda m: f"{m.group('scheme')} {REDACTED}", text)
    text = _PAIR.sub(lambda m: f"{m.group('name')}{m.group('sep')}{REDACTED}", text)
    return _HEX64.sub("[redacted hex]", text)


def short_hash(value: str) -> str:
    """A transaction/order/condition hash as a log line names it: its first 12 hex digits. Enough
    to find the row; a full 64-hex string would be redacted like a key."""
    return f"{value[:14]}…" if len(value) > 14 else value


def scrub_url(url: str) -> str:
    """The URL with its password, key-like path segments and query values replaced by ``***``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "***"
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 literal
        netloc = f"[{netloc}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}{':***' if parts.password else ''}@{netloc}"
    path_and_query = _scrub_path_and_query(parts.path + (f"?{parts.query}" if parts.query else ""))
    return f"{parts.scheme}://{netloc}{path_and_query}"


def _scrub_path_and_query(text: str) -> str:
    path, _, query = text.partition("?")
    segments = [s if _PLAIN_SEGMENT.match(s) else "***" for s in path.split("/")]
    scrubbed = "/".join(segments)
    if query:
        names = [name for name, _ in parse_qsl(query, keep_blank_values=True)] or ["***"]
        scrubbed += "?" + "&".join(f"{name}=***" for name in names)
    return scrubbed


def _configured_secrets() -> tuple[str, ...]:
    """This deployment's own secrets (SECRET_KEY, keys, URL credentials), longest first."""
    from django.conf import settings

    if not settings.configured:
        return ()
    loaded = getattr(settings, "CONFIG", None)
    if loaded is None or not hasattr(loaded, "secret_values"):
        return ()
    if _CACHE[0] is not loaded:  # read once per configuration, not once per record
        _CACHE[:] = [loaded, _secrets_of(loaded)]
    secrets: tuple[str, ...] = _CACHE[1]
    return secrets


_CACHE: list[Any] = [None, ()]


def _secrets_of(loaded: Any) -> tuple[str, ...]:
    found: set[str] = set()
    for kind, value in loaded.secret_values():
        found.update(_fragments(kind, value))
    # Short fragments would eat ordinary words; a real secret is longer than this.
    return tuple(sorted((f for f in found if len(f) >= 6), key=len, reverse=True))


def _fragments(kind: str, value: str) -> Iterable[str]:
    if kind == "keyring":
        return [item.partition(":")[2].strip() for item in value.split(",")]
    if "://" not in value:
        return [value]
    parts = urlsplit(value)
    fragments = [parts.password or ""]
    fragments += [s for s in parts.path.split("/") if not _PLAIN_SEGMENT.match(s)]
    fragments += [v for _, v in parse_qsl(parts.query)]
    return fragments


# LogRecord attributes that are ours to trust (names, paths, levels), never free text.
_PLAIN_ATTRIBUTES = frozenset(
    {"name", "levelname", "pathname", "filename", "module", "funcName", "threadName", "processName", "taskName"}
)


class RedactSecretsFilter(logging.Filter):
    """Scrubs a record in place: message, traceback, stack and any extra text field."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if isinstance(value, str) and name not in _PLAIN_ATTRIBUTES and name not in ("msg", "exc_text"):
                setattr(record, name, redact(value))
        return True
