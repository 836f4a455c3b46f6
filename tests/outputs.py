"""What the platform writes besides pages, for the secret scans (I5): the production log pipeline
built from settings.LOGGING, the error and audit texts stored in the database, check_config."""

from __future__ import annotations

import io
import json
import logging
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.utils.module_loading import import_string

from copytrading.models import CopyTrade, DetectorState
from execution.models import VenueHealth
from polyhunter.models import AuditEvent


def production_handler(stream: IO[str]) -> logging.Handler:
    """A handler with the console handler's formatter and filters exactly as LOGGING configures them."""
    spec: dict[str, Any] = settings.LOGGING
    console = spec["handlers"]["console"]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_build(spec["formatters"][console["formatter"]], default=logging.Formatter))
    for name in console.get("filters", []):
        handler.addFilter(_build(spec["filters"][name], default=logging.Filter))
    return handler


def _build(item: dict[str, Any], *, default: type[Any]) -> Any:
    options = dict(item)
    factory = options.pop("()", None)
    if factory is None:
        if default is logging.Formatter:
            return logging.Formatter(options.get("format"), options.get("datefmt"))
        return default(**options)
    return (import_string(factory) if isinstance(factory, str) else factory)(**options)


def stored_error_texts() -> list[tuple[str, str]]:
    """(where, text) of every field where we store what went wrong, or what a human changed."""
    texts = [(f"DetectorState {d.name}", d.last_error) for d in DetectorState.objects.all()]
    texts += [(f"CopyTrade {t.id}", f"{t.reason_detail} {t.venue_status}") for t in CopyTrade.objects.all()]
    texts += [("VenueHealth", v.detail) for v in VenueHealth.objects.all()]
    for event in AuditEvent.objects.all():
        texts.append((f"AuditEvent {event.id}", f"{event.reason} {json.dumps(event.before)} {json.dumps(event.after)}"))
    return texts


def check_config_output() -> str:
    """What ``check_config --offline`` prints for the configuration in settings.CONFIG."""
    out = io.StringIO()
    call_command("check_config", "--offline", stdout=out)
    return out.getvalue()
