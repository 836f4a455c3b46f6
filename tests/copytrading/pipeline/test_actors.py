"""The pipeline through the configured broker and a real worker: Redis in CI, in-process by default."""

from __future__ import annotations

import time
from decimal import Decimal

import dramatiq
import pytest
from django.db import transaction

from copytrading.fanout import fanout_enqueue
from copytrading.models import CopyTrade
from execution.simulator import VenueSimulator
from tests.copytrading.pipeline.conftest import follow, leader_buy, speed_account
from tests.factories import make_account, make_leader


def wait_for(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the pipeline")


@pytest.mark.django_db(transaction=True)
def test_a_detected_trade_is_copied_for_every_follower_through_the_broker(
    sim: VenueSimulator, broker: dramatiq.Broker, worker: dramatiq.Worker
) -> None:
    leader = make_leader()
    speed = follow(speed_account(sim), leader=leader, sizing_value=Decimal(5))
    paper = follow(make_account(), leader=leader, sizing_value=Decimal(7))
    with transaction.atomic():
        trade = leader_buy(leader)
        transaction.on_commit(lambda: fanout_enqueue(leader_trade_ids=[trade.id]))
    wait_for(
        lambda: (
            CopyTrade.objects.filter(leader_trade=trade)
            .exclude(status__in=[CopyTrade.Status.PENDING, CopyTrade.Status.CLAIMED, CopyTrade.Status.SIGNED])
            .count()
            == 2
        )
    )
    rows = {row.relationship_id: row for row in CopyTrade.objects.filter(leader_trade=trade)}
    assert rows[speed.id].status == CopyTrade.Status.FILLED
    assert rows[paper.id].status == CopyTrade.Status.CONFIRMED
    assert {o["id"] for o in sim.orders()} == {rows[speed.id].order_hash}
