"""Detection actors (imported by copytrading/tasks.py): ids in, one service call, no retries.

Nothing here is worth retrying: the next tick polls and scans again from the persisted cursors.
``max_age`` drops messages that waited too long in a slow queue, so a backlog never turns into
several polls of one leader.
"""

from __future__ import annotations

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from copytrading.detection.service import detection_poll, detection_scan, detection_tick

QUEUE = "detection"
POLL_MAX_AGE_MS = max(5_000, int(settings.DETECT_POLL_SECONDS * 2_000))
SCAN_MAX_AGE_MS = 30_000


@dramatiq.actor(queue_name=QUEUE, max_retries=0, max_age=POLL_MAX_AGE_MS, time_limit=60_000)
def poll_leader(wallet_id: int) -> None:
    detection_poll(wallet_id=wallet_id)


@dramatiq.actor(queue_name=QUEUE, max_retries=0, max_age=SCAN_MAX_AGE_MS, time_limit=120_000)
def scan_chain(chain: str) -> None:
    detection_scan(chain=chain)


@interval(seconds=max(1.0, settings.DETECT_POLL_SECONDS))  # type: ignore[untyped-decorator]  # no types shipped
@dramatiq.actor(queue_name=QUEUE, max_retries=0, max_age=POLL_MAX_AGE_MS, time_limit=10_000)
def detect_tick() -> None:
    detection_tick(send_poll=poll_leader.send, send_scan=scan_chain.send)
