"""Performance changes of the pipeline keep its behaviour: one fan-out message per deployment,
batched writes still fenced per row, POST times recorded (docs/performance.md)."""

from __future__ import annotations

from typing import Any

import pytest

from copytrading.fanout import fanout_enqueue
from copytrading.models import Deployment
from tests.factories import make_leader, make_leader_trade, make_relationship

pytestmark = pytest.mark.django_db


def test_a_leader_trade_is_sent_to_fan_out_once_per_deployment_however_many_follow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr("copytrading.fanout.send_to_queue", lambda actor, queue, *args: sent.append((queue, args)))
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    leader = make_leader()
    for _ in range(5):
        make_relationship(leader=leader)
    make_relationship(leader=leader, deployment=vip)
    make_relationship(leader=leader, deployment=vip)
    trade = make_leader_trade(leader=leader)
    fanout_enqueue(leader_trade_ids=[trade.id])
    assert sorted(sent) == [("shared.fanout", (trade.id, "shared")), ("vip.fanout", (trade.id, "vip"))]
