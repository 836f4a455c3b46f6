"""Detector heartbeats for staff (DetectorState rows, read-only in the admin)."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from copytrading.models import DetectorState
from polyhunter.log_redaction import redact

CHAIN_DETECTOR = "chain:{chain}"
CHAIN_WS_DETECTOR = "chain-ws:{chain}"
DATA_API_DETECTOR = "data_api"
REPLAY_DETECTOR = "replay"


def detector_heartbeat(*, name: str, cursor: str | None = None, error: str | None = None) -> None:
    """Record one run of a detector: when, where its cursor is, and the error if it failed."""
    now = timezone.now()
    DetectorState.objects.get_or_create(name=name)
    fields: dict[str, object] = {"last_seen_at": now, "runs": F("runs") + 1}
    if cursor is not None:
        fields["last_cursor"] = cursor[:200]
    if error is not None:
        # Exception texts of RPC and HTTP libraries quote the URL, API key and all: scrubbed first.
        fields.update(last_error=redact(error)[:2000], last_error_at=now, errors=F("errors") + 1)
    DetectorState.objects.filter(name=name).update(**fields)
