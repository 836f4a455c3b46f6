"""S39: a follower lowers a cap while a worker (a real process) is inside the locked sign step:
every order signed after the change obeys the new cap."""

from __future__ import annotations

import dataclasses
import signal
import threading
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.utils import timezone

from copytrading.follows import FollowSettings, follow_update
from copytrading.models import CopyTrade, Deployment
from copytrading.reasons import Reason
from tests.copytrading.reliability.conftest import Checker, Spawner
from tests.copytrading.reliability.harness import (
    Venue,
    execute,
    follow,
    fresh,
    reconcile_until_settled,
    speed_account,
    wait_for,
)
from tests.copytrading.reliability.invariants import Caps
from tests.copytrading.reliability.test_caps import COMMITTED, pending_copy_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.processes
def test_s39_a_cap_lowered_while_an_order_is_being_signed_applies_to_every_order_signed_after_the_change(
    venue: Venue, deployment: Deployment, spawn: Spawner, check: Checker
) -> None:
    relationship = follow(speed_account(venue, n=1), daily_cap_usdc=Decimal(100))
    leader = relationship.leader
    done = execute(deployment, *[pending_copy_for(leader, deployment) for _ in range(2)])
    assert [row.status for row in done] == [CopyTrade.Status.FILLED] * 2  # $20 committed

    # A worker is inside the locked sign step (caps checked, about to sign) when the follower
    # lowers the cap to $25: the $10 order it is signing would make $30.
    row = pending_copy_for(leader, deployment)
    signer = spawn("execute", str(row.id), "--stop-before", "sign")
    signer.expect("BEFORE_SIGN")
    signer.wait_stopped()
    changed_at: list[datetime] = []

    def lower_the_cap() -> None:
        try:
            lowered = dataclasses.replace(FollowSettings.of(relationship), daily_cap_usdc=Decimal(25))
            follow_update(relationship=relationship, settings=lowered, actor="follower", reason="lower my cap")
            changed_at.append(timezone.now())
        finally:
            close_old_connections()

    changer = threading.Thread(target=lower_the_cap)
    changer.start()
    changer.join(timeout=1.0)  # it either waits for the signer's locks, or is already done
    signer.signal(signal.SIGCONT)
    assert signer.expect("DONE") in ("0", "1")
    changer.join(timeout=30)
    wait_for(lambda: changed_at, what="the cap change to commit")
    row = fresh(row)
    if row.status in COMMITTED:
        assert row.signed_at is not None
        # Signed under the old cap: only allowed if the new cap was not yet in force.
        assert row.signed_at < changed_at[0], "an order was signed over a cap lowered before it was signed"

    # Every order signed after the change obeys the new cap ($20 already committed: none fits).
    after = execute(deployment, pending_copy_for(leader, deployment))
    assert [(r.status, r.reason_code) for r in after] == [(CopyTrade.Status.BLOCKED, Reason.DAILY_CAP)]
    reconcile_until_settled(deployment, venue=venue)
    check(caps=Caps(follow_daily={relationship.id: Decimal(100)}))
