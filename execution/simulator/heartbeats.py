"""Order heartbeats (``POST /v1/heartbeats``): the venue's dead-man switch, per API key.

The first accepted heartbeat of a key (sent with an empty id) arms it; every later one must send
back the id the previous answer gave, or it is refused with the id expected (and does not refresh
the deadline). A key silent for ``timeout_s`` (10 s, like the venue) has all its open orders
cancelled and its registration removed; a later heartbeat arms it again. There is no disarm.
Reference polymarket.md §2.4 and the official client's ``send_order_heartbeat``.
"""

from __future__ import annotations

import uuid

from . import errors
from .errors import VenueError

TIMEOUT_S = 10.0


class HeartbeatBook:
    def __init__(self) -> None:
        self.timeout_s = TIMEOUT_S
        self._armed: dict[str, tuple[str, float]] = {}

    def beat(self, key: str, heartbeat_id: object, now: float) -> str:
        """Accept one heartbeat of ``key``; returns the id to send next time."""
        expected = self._armed[key][0] if key in self._armed else ""
        if not isinstance(heartbeat_id, str) or heartbeat_id != expected:
            raise VenueError(
                errors.INVALID_HEARTBEAT_ID,
                400,
                extra={"error_msg": errors.INVALID_HEARTBEAT_ID, "heartbeat_id": expected},
            )
        following = str(uuid.uuid4())
        self._armed[key] = (following, now + self.timeout_s)
        return following

    def expired(self, now: float) -> list[str]:
        """Keys whose deadline has passed, forgotten (their open orders are the caller's to cancel)."""
        late = [key for key, (_, deadline) in self._armed.items() if deadline <= now]
        for key in late:
            del self._armed[key]
        return late

    def armed(self) -> dict[str, float]:
        """Each armed key and its deadline (for the control API)."""
        return {key: deadline for key, (_, deadline) in self._armed.items()}
