"""The notification tick (imported by copytrading/tasks.py): collect, then send due digests."""

from __future__ import annotations

import dramatiq
from dramatiq_crontab import interval

from copytrading.notifications.collect import notifications_collect
from copytrading.notifications.deliver import notifications_deliver


@interval(seconds=60)  # type: ignore[untyped-decorator]  # dramatiq-crontab ships no types
@dramatiq.actor(queue_name="platform", max_retries=0, max_age=60_000, time_limit=60_000)
def notifications_tick() -> None:
    notifications_collect()
    notifications_deliver()
