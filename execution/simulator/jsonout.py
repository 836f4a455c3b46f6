"""JSON bodies with Decimal written as JSON numbers (the Data API and /clob-markets send numbers).

Decimals are smuggled through the C encoder as marked strings and unmarked afterwards, so the
number text is exactly the Decimal's (no float round trip).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from .errors import text

_MARK = "\x00D"
_MARKED = re.compile(r'"\\u0000D(-?[0-9]+(?:\.[0-9]+)?)"')


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return _MARK + text(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: object) -> bytes:
    """Compact JSON; Decimal values become numbers with their exact digits."""
    encoded = json.dumps(value, separators=(",", ":"), default=_default)
    return _MARKED.sub(r"\1", encoded).encode()
