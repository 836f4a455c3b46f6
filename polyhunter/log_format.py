"""LOG_FORMAT=json: one JSON object per log line, for log shippers.

Keys: ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``message`` and, when the
record carries one, ``traceback``. Records pass the handler's filters first (the redaction
filter of polyhunter.log_redaction included), and a traceback already rendered on the record
(``exc_text``) is used as it is, exactly as the plain formatter does.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            body["traceback"] = record.exc_text
        if record.stack_info:
            body["stack"] = self.formatStack(record.stack_info)
        return json.dumps(body, ensure_ascii=False, default=str)
