"""Leader trades, injected continuously through the detection record service — the path every
detector takes — so the real on-commit fan-out, the workers and the sweeper do the rest.

A detector that fails to record a trade (the database restarting, Redis gone after the commit)
sees the same trade again at its next poll: the injector does the same, with the same
observation, until the record service returns. Insert-or-ignore makes a retry after a commit
whose answer was lost a no-op, and a fan-out message lost after the commit is the sweeper's job.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bench.world import LEADER_SHARES, PRICE, Market

SELL_SHARES = Decimal(50)
RETRY_FOR = 90.0  # seconds a detector keeps seeing (and retrying) one trade


@dataclass
class Injected:
    dedupe_key: str
    leader: str
    side: str
    token_id: str
    occurred_at: datetime
    attempts: int = 0
    recorded: bool = False
    error: str = ""


@dataclass
class Traffic:
    injected: list[Injected] = field(default_factory=list)
    retries: int = 0
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class Injector(threading.Thread):
    """``rate`` leader trades a second (Poisson arrivals), round robin over the leaders, a random
    market each; a ``sell_share`` of them SELL a token that leader bought before (copy sells)."""

    def __init__(
        self, *, leaders: list[str], markets: list[Market], rate: float, sell_share: float, rng: random.Random
    ) -> None:
        super().__init__(name="soak-injector", daemon=True)
        self.leaders = leaders
        self.markets = markets
        self.rate = rate
        self.sell_share = sell_share
        self.rng = rng
        self.traffic = Traffic()
        self.stopping = threading.Event()
        self._bought: dict[str, list[Market]] = {}

    def run(self) -> None:
        from django.db import connection

        turn = 0
        next_at = time.monotonic()
        try:
            while not self.stopping.is_set():
                next_at += self.rng.expovariate(self.rate)
                delay = next_at - time.monotonic()
                if delay > 0 and self.stopping.wait(delay):
                    break
                leader = self.leaders[turn % len(self.leaders)]
                turn += 1
                self._inject(leader)
        finally:
            connection.close()

    def _inject(self, leader: str) -> None:
        from django.utils import timezone

        from copytrading.detection.record import TradeObservation, dedupe_key

        held = self._bought.get(leader, [])
        sell = bool(held) and self.rng.random() < self.sell_share
        market = self.rng.choice(held) if sell else self.rng.choice(self.markets)
        if not sell:
            self._bought.setdefault(leader, []).append(market)
        shares = SELL_SHARES if sell else LEADER_SHARES
        side = "SELL" if sell else "BUY"
        now = timezone.now()
        observation = TradeObservation(
            leader=leader,
            tx_hash="0x" + secrets.token_hex(32),
            token_id=market.token_id,
            side=side,
            shares=shares,
            usdc=shares * PRICE,
            occurred_at=now,
            leg_id="log:0",
            condition_id=market.condition_id,
        )
        entry = Injected(
            dedupe_key=dedupe_key(leader=leader, tx_hash=observation.tx_hash, token_id=market.token_id, side=side),
            leader=leader,
            side=side,
            token_id=market.token_id,
            occurred_at=now,
        )
        self.traffic.injected.append(entry)
        self._record(entry, observation)

    def _record(self, entry: Injected, observation: object) -> None:
        from django.db import connection
        from django.utils import timezone

        from copytrading.detection.record import leader_trades_record
        from copytrading.models import LeaderTrade

        started = time.monotonic()
        while True:
            entry.attempts += 1
            try:
                leader_trades_record(
                    observations=[observation],  # type: ignore[list-item]
                    source=LeaderTrade.Source.ONCHAIN,
                    now=timezone.now(),
                )
                entry.recorded = True
                return
            except Exception as exc:  # what a detector survives: it sees the trade again next poll
                name = type(exc).__name__
                self.traffic.errors[name] = self.traffic.errors.get(name, 0) + 1
                entry.error = f"{name}: {str(exc)[:200]}"
                connection.close()  # a connection broken by a restart is not reused
                if time.monotonic() - started > RETRY_FOR or self.stopping.is_set():
                    self.traffic.failures += 1
                    return
                self.traffic.retries += 1
                time.sleep(0.5)
