"""Per-client and per-account limits on what anybody can do before signing in (sign-up, password
reset), on dramatiq's rate limiter: Redis with ``REDIS_URL``, so every web process shares them.

Each attempt takes one slot of a fixed window per client address and one per account; a key is
a digest, so Redis never holds an email address.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django_dramatiq.apps import DjangoDramatiqConfig
from dramatiq.rate_limits import BucketRateLimiter


@dataclass(frozen=True)
class Throttle:
    name: str
    per_address: int  # attempts per window from one client address
    per_account: int  # attempts per window for one account, from anywhere
    window_seconds: int = 3600

    def allows_address(self, address: str) -> bool:
        return self._take("address", address, self.per_address)

    def allows_account(self, account: str) -> bool:
        return self._take("account", account.strip().lower(), self.per_account)

    def _take(self, kind: str, value: str, limit: int) -> bool:
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        limiter = BucketRateLimiter(  # type: ignore[no-untyped-call]
            DjangoDramatiqConfig.get_rate_limiter_backend(),
            f"polyhunter:throttle:{self.name}:{kind}:{digest}",
            limit=limit,
            bucket=self.window_seconds * 1000,
        )
        with limiter.acquire(raise_on_failure=False) as acquired:
            return bool(acquired)
