"""Worker settings for scenarios that wait for a lease to run out (S14): production settings with
a 3-second lease instead of 30 (``COPY_LEASE_SECONDS`` is a constant tests shorten)."""

from __future__ import annotations

from polyhunter.settings import *  # noqa: F403

COPY_LEASE_SECONDS = 3
