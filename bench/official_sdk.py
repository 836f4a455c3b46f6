"""The baseline a user would otherwise run: the official SDK (polymarket-client 0.14.0) as its
README shows it, one ``SecureClient`` per follower, each building, signing and POSTing its own
order to the same simulated venue.

The user's loop, for each leader trade: for every follower's client, ``create_market_order``
(a protected FAK BUY of the follower's fixed amount, max price = leader price + slippage, on the
tick grid) then ``post_order``; serially, or with a ``ThreadPoolExecutor`` of 16. Clients are
made once, before timing (a long-running copier keeps them), with the follower's address as the
EOA wallet and credentials from the venue by L1 auth (what ``SecureClient.create`` does without
``credentials=``), and each is warmed with one order built and not sent, so the SDK's per-client
market metadata cache (``/markets-by-token``, ``/clob-markets``) is full: the timed loop is
build + sign + POST + parse only. Nothing is written anywhere: no database, no record of the order
before it is sent (the platform writes every signed order before its POST), so the comparison
favours the SDK.

A client costs ~240 ms of CPU and ~7 MiB to make (docs/performance.md), so the baseline uses the
first ``clients`` followers, not all of them, each copying a few leader trades (one after the
other, as they come); its rates are per order, as the others are.

Lives in bench/, never in the app.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from polymarket import SecureClient
from polymarket._internal.environment import create_environment
from polymarket.environments import Environment

from bench.world import COPY_USDC, PRICE, Follower, Market
from execution.venue.environment import sdk_config

SLIPPAGE = Decimal("0.03")  # the follows' 300 bps
TICK = Decimal("0.01")  # the bench markets' tick
POOL_THREADS = 16


@dataclass(frozen=True)
class SdkResult:
    clients: int
    trades: int
    setup_seconds: float
    serial_seconds: float
    pooled_seconds: float
    statuses: dict[str, int]

    @property
    def orders(self) -> int:
        return self.clients * self.trades

    @property
    def serial_orders_per_s(self) -> float:
        return self.orders / self.serial_seconds if self.serial_seconds else 0.0

    @property
    def pooled_orders_per_s(self) -> float:
        return self.orders / self.pooled_seconds if self.pooled_seconds else 0.0


def local_environment(*, url: str, chain_id: int) -> Environment:
    """Our SDK config (every host dead but ours) with the relayer at the venue too, as a user
    pointing the SDK at one host would have it."""
    config = dataclasses.replace(sdk_config(clob_url=url, data_url=url, chain_id=chain_id), relayer_url=url)
    return create_environment(name="bench-venue", config=config)


def max_price() -> Decimal:
    """The leader's price plus the follows' slippage, floored to the tick (what the user computes)."""
    return (PRICE * (1 + SLIPPAGE) / TICK).to_integral_value(rounding=ROUND_FLOOR) * TICK


def _copy(client: SecureClient, token_id: str) -> str:
    signed = client.create_market_order(token_id=token_id, side="BUY", amount=COPY_USDC, max_price=max_price())
    answer: Any = client.post_order(signed)
    return str(getattr(answer, "status", None) or getattr(answer, "code", "rejected"))


def _timed(run: Callable[[], list[str]], statuses: dict[str, int]) -> float:
    started = time.perf_counter()
    for status in run():
        statuses[status] = statuses.get(status, 0) + 1
    return time.perf_counter() - started


def official_sdk_run(
    *, url: str, chain_id: int, people: Sequence[Follower], markets: Sequence[Market], trades: int
) -> SdkResult:
    """``trades`` leader trades (round robin over ``markets``), each copied by every client."""
    environment = local_environment(url=url, chain_id=chain_id)
    started = time.perf_counter()
    clients = [
        SecureClient.create(private_key=person.private_key, wallet=person.address, environment=environment)
        for person in people
    ]
    try:
        tokens = [markets[i % len(markets)].token_id for i in range(trades)]
        for client in clients:
            for token_id in set(tokens):
                # Fills the client's market metadata cache; built and signed, never sent.
                client.create_market_order(token_id=token_id, side="BUY", amount=COPY_USDC, max_price=max_price())
        setup = time.perf_counter() - started
        statuses: dict[str, int] = {}
        serial = _timed(lambda: [_copy(client, token) for token in tokens for client in clients], statuses)
        with ThreadPoolExecutor(max_workers=POOL_THREADS) as pool:
            # One leader trade at a time, its followers' copies spread over the pool.
            pooled = _timed(
                lambda: [s for token in tokens for s in pool.map(lambda c, t=token: _copy(c, t), clients)], statuses
            )
    finally:
        for client in clients:
            client.close()
    return SdkResult(
        clients=len(clients),
        trades=trades,
        setup_seconds=setup,
        serial_seconds=serial,
        pooled_seconds=pooled,
        statuses=statuses,
    )
