"""Directory actors (imported by copytrading/tasks.py): ids in, one service call, no retries —
the next tick refreshes again."""

from __future__ import annotations

import dramatiq
from dramatiq_crontab import interval

from copytrading.leaders.services import REFRESH_LEADER_PROFILE_ACTOR, leader_profile_refresh, profiles_due


@dramatiq.actor(
    actor_name=REFRESH_LEADER_PROFILE_ACTOR, queue_name="platform", max_retries=0, max_age=300_000, time_limit=120_000
)
def refresh_leader_profile(leader_id: int) -> None:
    leader_profile_refresh(leader_id=leader_id)


@interval(seconds=60)  # type: ignore[untyped-decorator]  # dramatiq-crontab ships no types
@dramatiq.actor(queue_name="platform", max_retries=0, max_age=60_000, time_limit=10_000)
def leader_profiles_tick() -> None:
    """Refresh the track records that are older than five minutes (a bounded batch each minute)."""
    for leader_id in profiles_due():
        refresh_leader_profile.send(leader_id)
