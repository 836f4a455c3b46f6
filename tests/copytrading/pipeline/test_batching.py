"""Performance changes of the pipeline keep its behaviour: one fan-out message per deployment,
batched writes still fenced per row, POST times recorded (docs/performance.md)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from copytrading.fanout import fanout_enqueue, fanout_leader_trade
from copytrading.models import CopyTrade, Deployment
from copytrading.pipeline.batched import insert_new, write_fenced_each
from copytrading.pipeline.execute import copytrades_execute
from execution.ratelimit import signer_slot, signer_slots
from execution.simulator import VenueSimulator
from tests.copytrading.pipeline.conftest import KEYS, follow, leader_buy, speed_account
from tests.factories import make_copy_trade, make_leader, make_leader_trade, make_relationship, shared_deployment

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


def test_a_batched_write_gives_each_row_its_own_values_and_skips_a_row_whose_lease_moved_on() -> None:
    rows = [make_copy_trade(status=CopyTrade.Status.CLAIMED, lease_version=3) for _ in range(3)]
    CopyTrade.objects.filter(id=rows[1].id).update(lease_version=4)  # another worker took it over
    written = write_fenced_each(
        rows,
        {
            rows[0].id: {"status": CopyTrade.Status.SIGNED, "order_hash": "0x" + "a" * 64, "planned_usdc": Decimal(5)},
            rows[1].id: {"status": CopyTrade.Status.SIGNED, "order_hash": "0x" + "b" * 64, "planned_usdc": Decimal(6)},
            rows[2].id: {"status": CopyTrade.Status.SIGNED, "order_hash": "0x" + "c" * 64},
        },
    )
    assert written == {rows[0].id, rows[2].id}
    stored = {row.id: row for row in CopyTrade.objects.filter(id__in=[row.id for row in rows])}
    assert (stored[rows[0].id].order_hash, stored[rows[0].id].planned_usdc) == ("0x" + "a" * 64, Decimal(5))
    assert (stored[rows[1].id].status, stored[rows[1].id].order_hash) == (CopyTrade.Status.CLAIMED, None)
    # A field a row does not name keeps its value.
    assert (stored[rows[2].id].order_hash, stored[rows[2].id].planned_usdc) == ("0x" + "c" * 64, None)


def test_a_batch_of_speed_copies_is_signed_posted_and_recorded_each_with_its_own_order_and_post_time(
    sim: VenueSimulator,
) -> None:
    leader = make_leader()
    follows = [follow(speed_account(sim, key=key), leader=leader) for key in KEYS[:3]]
    trade = leader_buy(leader)
    deployment = shared_deployment()
    result = fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment)
    assert copytrades_execute(ids=result.pending_ids, deployment=deployment) == 3
    rows = list(CopyTrade.objects.filter(leader_trade=trade))
    assert {row.relationship_id for row in rows} == {f.id for f in follows}
    assert all(row.status == CopyTrade.Status.FILLED for row in rows), [(r.status, r.reason_detail) for r in rows]
    assert len({row.order_hash for row in rows}) == 3
    assert {o["id"] for o in sim.orders()} == {row.order_hash for row in rows}
    for row in rows:
        assert row.submit_count == 1
        assert row.signed_at is not None
        assert row.submitted_at is not None
        assert row.recorded_at is not None
        assert row.signed_at <= row.submitted_at <= row.recorded_at
        assert row.lease_owner == ""


def test_rate_slots_taken_for_a_batch_share_the_per_signer_budget() -> None:
    signer = "0x" + secrets.token_hex(20)
    assert signer_slots(signers=[signer, signer], per_second=3) == [True, True]
    assert signer_slot(signer=signer, per_second=3) is True
    assert signer_slots(signers=[signer, "0x" + secrets.token_hex(20)], per_second=3) == [False, True]


def test_insert_new_returns_only_the_rows_it_inserted_with_their_defaults() -> None:
    leader = make_leader()
    trade = make_leader_trade(leader=leader)
    taken, fresh = make_relationship(leader=leader), make_relationship(leader=leader)
    existing = make_copy_trade(relationship=taken, leader_trade=trade)
    deadline = timezone.now() + timedelta(minutes=10)
    rows = [
        CopyTrade(
            relationship=follow,
            leader_trade=trade,
            account=follow.account,
            deployment=shared_deployment(),
            side=trade.side,
            token_id=trade.token_id,
            deadline_at=deadline,
        )
        for follow in (taken, fresh)
    ]
    inserted = insert_new(rows)
    # The follow that already had its copy of this trade conflicts and is skipped, not returned.
    assert len(inserted) == 1
    (row_id, lane, status) = inserted[0]
    row = CopyTrade.objects.get(id=row_id)
    assert row.relationship_id == fresh.id
    assert (lane, status) == (row.lane, row.status) == (CopyTrade.Lane.COPY, CopyTrade.Status.PENDING)
    assert row.created_at is not None
    assert CopyTrade.objects.filter(leader_trade=trade).count() == 2
    assert CopyTrade.objects.get(id=existing.id).relationship_id == taken.id
