"""A last line of defence: scrub credential-looking key/value pairs from log records.

Secrets are kept out of log calls by construction (ids only in actors, no credentials in
exceptions); this filter catches the shapes that would still hurt if a library logged them:
L2 auth headers, ``secret=``/``passphrase=``/``private_key=`` pairs and JSON fields of that name.
"""

from __future__ import annotations

import logging
import re

_PAIR = re.compile(
    r"""(?ix)
    (?P<name>["']?(?:poly[_-](?:signature|passphrase|api[_-]key)|api[_-]?secret|secret|passphrase
        |private[_-]?key|api[_-]?key|authorization)["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<value>"[^"]*"|'[^']*'|[^\s,;&}]+)
    """
)


def redact(text: str) -> str:
    return _PAIR.sub(lambda m: f"{m.group('name')}{m.group('sep')}[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
