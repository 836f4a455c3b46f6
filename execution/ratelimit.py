"""Per-signer order rate, shared by every worker through dramatiq's rate-limit backend
(Redis in production, in-process when embedded). Polymarket meters trading per signer."""

from __future__ import annotations

from django_dramatiq.apps import DjangoDramatiqConfig
from dramatiq.rate_limits import WindowRateLimiter


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
