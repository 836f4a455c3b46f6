"""Issue #18, finding 5: secrets in output.

The log filter rewrote messages but not tracebacks, and missed bare 64-hex keys, ``Bearer``
tokens and ``password=``; URLs with credentials or API keys in them went to logs and stored
errors as they were. One component (polyhunter.log_redaction) now scrubs every text a log
record carries, whatever formatter renders it, and the same ``redact`` cleans stored errors.
"""

from __future__ import annotations

import io
import logging

import pytest
from django.test import override_settings

from polyhunter import config
from polyhunter.log_redaction import redact, scrub_url, short_hash
from tests.outputs import production_handler

HEX_KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
RPC_KEY = "AlchemyKeyAbc123DEF456ghi789JKL0"
RPC_URL = f"https://polygon-mainnet.g.alchemy.com/v2/{RPC_KEY}"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"signing with {HEX_KEY}", HEX_KEY),
        (f"signing with 0x{HEX_KEY.upper()}", HEX_KEY.upper()),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc-DEF_123", "eyJhbGciOiJIUzI1NiJ9"),
        ("headers={'authorization': 'Bearer tok-123456789'}", "tok-123456789"),
        ("login failed: password=hunter2-long user=app", "hunter2-long"),
        ('{"passphrase": "correct-horse", "secret": "c2VjcmV0"}', "correct-horse"),
        (f"cannot reach {RPC_URL}", RPC_KEY),
        ("smtp+tls://mailer:mailpw-s3cret@smtp.example.com:587 refused", "mailpw-s3cret"),
        (f"Max retries exceeded with url: /v2/{RPC_KEY}?apikey=QueryKey12345 (Caused by", RPC_KEY),
        ("wss://node.example/ws?apikey=QueryKey12345&chain=137", "QueryKey12345"),
    ],
)
def test_finding_5_redact_removes_every_shape_of_secret(text: str, secret: str) -> None:
    """Failed before the fix for the hex keys, Bearer tokens, password= and URLs."""
    assert secret not in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "GET /dashboard/ 200",
        "leader 0x" + "ab" * 20 + " polled: 3 new trades",  # an address is public
        "token 71321045679252212594626385532706912750332728571942532289631379312455583992563",
        "POST http://127.0.0.1:8765/order answered 200",
        "signature 0x" + "cd" * 65,  # longer than a key: not one
        f"order {short_hash('0x' + 'ab' * 32)} POST: placed/matched",  # how our lines name a hash
    ],
)
def test_redaction_keeps_what_is_not_a_secret(text: str) -> None:
    assert redact(text) == text


def test_a_url_keeps_its_host_and_plain_path_and_loses_what_authenticates() -> None:
    assert scrub_url(RPC_URL) == "https://polygon-mainnet.g.alchemy.com/v2/***"
    assert scrub_url("postgres://app:hunter2@db:5432/polyhunter") == "postgres://app:***@db:5432/polyhunter"
    assert scrub_url("redis://:pw@127.0.0.1:6379/1") == "redis://:***@127.0.0.1:6379/1"
    assert scrub_url("https://x.example/rpc?apikey=k123456&chain=137") == "https://x.example/rpc?apikey=***&chain=***"


def log_through_production_handler(emit: logging.Logger) -> str:
    stream = io.StringIO()
    handler = production_handler(stream)
    emit.addHandler(handler)
    try:
        try:
            try:
                raise ConnectionError(f"Max retries exceeded with url: /v2/{RPC_KEY} (key {HEX_KEY})")
            except ConnectionError as inner:
                raise RuntimeError(f"scan failed; Authorization: Bearer tok-{RPC_KEY}") from inner
        except RuntimeError:
            emit.exception("chain: scan of %s failed", RPC_URL)
    finally:
        emit.removeHandler(handler)
    return stream.getvalue()


def test_finding_5_a_logged_traceback_is_redacted_like_its_message() -> None:
    """Failed before the fix: the filter rewrote the message and left the traceback as it was."""
    emit = logging.getLogger("polyhunter.tests.redaction")
    out = log_through_production_handler(emit)
    assert "Traceback (most recent call last)" in out
    assert "The above exception was the direct cause" in out  # the chain is kept, scrubbed
    for secret in (RPC_KEY, HEX_KEY):
        assert secret not in out


def test_finding_5_configured_secrets_are_redacted_wherever_they_appear() -> None:
    """A secret of the configuration appears in a message without any telltale shape."""
    loaded = config.load(
        {
            "SECRET_KEY": "Kx9-signing-key-of-this-deployment-0123456789-abcdef",
            "EMAIL_URL": "smtp+tls://mailer:Mailpw77@smtp.example.com:587",
            "POLYGON_RPC_URL": RPC_URL,
        }
    )
    with override_settings(CONFIG=loaded):
        text = redact(f"mailer Mailpw77 rpc {RPC_KEY} signing Kx9-signing-key-of-this-deployment-0123456789-abcdef")
    for secret in ("Mailpw77", RPC_KEY, "Kx9-signing-key-of-this-deployment"):
        assert secret not in text


def test_extra_fields_of_a_record_are_redacted_too() -> None:
    stream = io.StringIO()
    handler = production_handler(stream)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "venue fault", None, None)
    record.__dict__["url"] = RPC_URL  # what logger.warning(..., extra={"url": ...}) sets
    assert handler.filter(record)
    assert RPC_KEY not in str(record.__dict__["url"])
