"""S37 (docs/reliability.md): a worker whose clock is two minutes fast or slow. The venue keeps true
time (the simulator's clock is read from the monotonic clock, which ``time_machine`` leaves alone);
the worker's wall clock is moved. Expected: a fresh leader trade is copied and placed, a stale one
is not — the staleness check and the venue's L2 authentication window agree with the venue's time,
not the worker's.

Was a finding (issue 17): the platform read its own wall clock for both. Two minutes fast, every
fresh trade was skipped as stale and the L2 timestamps fell outside the venue's 30-second window
(401, account paused); two minutes slow, the L2 timestamps were refused the same way and a trade
150 s old would have been copied as if 30 s old. Fixed by venue time: the worker measures the
venue's ``GET /time`` offset (execution/venue/clock.py) and ages leader trades and stamps L2
headers with it (docs/reliability.md, "Which clock decides what").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.execute import copytrades_execute
from copytrading.reasons import Reason
from execution.venue.gateway import default_gateway
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import Venue, follow, leader_buy, speed_account

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def true_time_venue(venue: Venue) -> Iterator[Venue]:
    """The venue on true time, whatever this process's wall clock says."""
    anchor_wall, anchor_mono = time.time(), time.monotonic()
    venue.sim.clock = lambda: anchor_wall + (time.monotonic() - anchor_mono)
    yield venue
    venue.sim.clock = time.time


@pytest.mark.parametrize("skew", [120, -120], ids=["two_minutes_fast", "two_minutes_slow"])
def test_s37_with_the_workers_clock_two_minutes_off_fresh_trades_are_placed_and_stale_ones_are_not(
    true_time_venue: Venue, deployment: Deployment, check: Checker, skew: int
) -> None:
    venue = true_time_venue
    relationship = follow(speed_account(venue, n=1))
    now = timezone.now()
    fresh_trade = leader_buy(relationship.leader, occurred_at=now - timedelta(seconds=5))
    stale_trade = leader_buy(relationship.leader, occurred_at=now - timedelta(seconds=150))
    default_gateway.cache_clear()
    with time_machine.travel(now + timedelta(seconds=skew), tick=True):
        for trade in (fresh_trade, stale_trade):
            ids = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment).pending_ids
            copytrades_execute(ids=ids, deployment=deployment)
    placed = CopyTrade.objects.get(leader_trade=fresh_trade)
    skipped = CopyTrade.objects.get(leader_trade=stale_trade)
    assert (placed.status, placed.reason_code) == (CopyTrade.Status.FILLED, "")
    assert (skipped.status, skipped.reason_code) == (CopyTrade.Status.SKIPPED, Reason.STALE)
    assert not TradingAccount.objects.get(id=relationship.account_id).paused
    check()
