"""Per-signer order rate, shared by every worker through dramatiq's rate-limit backend
(Redis in production, in-process when embedded). Polymarket meters trading per signer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django_dramatiq.apps import DjangoDramatiqConfig
from dramatiq.rate_limits import WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend


def signer_slot(*, signer: str, per_second: int) -> bool:
    """Take one order slot of this signer's current one-second window; False if it is full."""
    limiter = WindowRateLimiter(  # type: ignore[no-untyped-call]
        DjangoDramatiqConfig.get_rate_limiter_backend(),
        f"polyhunter:signer:{signer.lower()}",
        limit=per_second,
        window=1,
    )
    with limiter.acquire(raise_on_failure=False) as acquired:
        return bool(acquired)


# The same keys, window and TTL as WindowRateLimiter(window=1) with the Redis backend (so both
# paths share one budget), for many signers in one atomic round trip instead of four each.
_TAKE_SLOTS = """
local taken = {}
for i, key in ipairs(KEYS) do
  local value = tonumber(redis.call('GET', key) or '0') + 1
  if value > tonumber(ARGV[1]) then
    taken[i] = 0
  else
    redis.call('SET', key, value, 'PX', ARGV[2])
    taken[i] = 1
  end
end
return taken
"""
_scripts: dict[int, Any] = {}


def signer_slots(*, signers: Sequence[str], per_second: int) -> list[bool]:
    """``signer_slot`` for each signer in order (a signer named twice takes two slots)."""
    if not signers:
        return []
    backend = DjangoDramatiqConfig.get_rate_limiter_backend()
    if not isinstance(backend, RedisBackend):
        return [signer_slot(signer=signer, per_second=per_second) for signer in signers]
    script = _scripts.get(id(backend.client))
    if script is None:
        script = _scripts[id(backend.client)] = backend.client.register_script(_TAKE_SLOTS)
    second = int(time.time())
    keys = [f"polyhunter:signer:{signer.lower()}@{second}" for signer in signers]
    return [bool(value) for value in script(keys=keys, args=[per_second, 1000])]
