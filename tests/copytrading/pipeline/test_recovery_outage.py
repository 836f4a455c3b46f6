"""A Redis outage between an order's POST and the record of its answer. Found by the soak (its
UNKNOWN → resolved p99 reached 70 s): the venue's answer was counted for the circuit breaker (in
the cache, Redis) *before* it was recorded, so with Redis restarting the answers of a whole batch
were lost after their POSTs and waited for the reconciler's lookups, and a recovery resend that
met it was pushed back a minute as if poisoned. The record comes first now; the breaker's count is
best-effort."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.test import override_settings

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade
from copytrading.pipeline.execute import copytrades_execute
from execution.simulator import VenueSimulator
from tests.copytrading.pipeline.conftest import follow, leader_buy, speed_account
from tests.copytrading.reliability.own import redis_server
from tests.factories import shared_deployment

pytestmark = pytest.mark.django_db


def test_an_answer_is_recorded_when_redis_dies_while_the_venue_holds_the_post(sim: VenueSimulator) -> None:
    relationship = follow(speed_account(sim), sizing_value=Decimal(10))
    deployment = shared_deployment()
    trade = leader_buy(relationship.leader)
    pending = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment).pending_ids
    sim.add_fault("delay_after", "POST /order", count=1, delay_ms=1_000)  # placed, answered a second later
    with redis_server() as redis:
        cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis.url()}}
        with override_settings(CACHES=cache):
            crash = threading.Timer(0.5, redis.crash)  # while the POST waits for its answer
            crash.start()
            try:
                copytrades_execute(ids=pending, deployment=deployment)
            finally:
                crash.join()
    row = CopyTrade.objects.get(leader_trade=trade)
    assert row.status == CopyTrade.Status.FILLED, (row.status, row.reason_detail)
    assert row.order_hash
    assert len(sim.orders()) == 1
