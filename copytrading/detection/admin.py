"""Staff views of the detectors: heartbeats and chain cursors (read-only)."""

from __future__ import annotations

from django.contrib import admin

from copytrading.models import ChainCursor, DetectorState
from polyhunter.admin import ReadOnlyAdmin


@admin.register(DetectorState)
class DetectorStateAdmin(ReadOnlyAdmin):
    list_display = ["name", "last_seen_at", "last_cursor", "runs", "errors", "last_error_at"]
    search_fields = ["name"]


@admin.register(ChainCursor)
class ChainCursorAdmin(ReadOnlyAdmin):
    list_display = ["chain", "next_block", "head_block", "lease_until", "updated_at"]
