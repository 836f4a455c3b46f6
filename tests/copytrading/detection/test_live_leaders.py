"""Issue #18, finding 2: detection could be starved by one sign-up.

``leaders_due`` polled every wallet ever followed, even with no follow left, while the Data API
budget (180 requests per 10 s) is shared by everyone: only leaders with a live follow (stopped
neither by its owner nor by staff) are polled now.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from copytrading.detection.data_api import leaders_due
from copytrading.models import CopyRelationship
from tests.factories import make_leader, make_relationship

pytestmark = pytest.mark.django_db


def test_finding_2_only_leaders_with_a_live_follow_are_polled() -> None:
    """Failed before the fix: every WatchedWallet was due, followed or not."""
    copied, paused, owner_stopped, staff_stopped, nobody = (make_leader() for _ in range(5))
    make_relationship(leader=copied)
    make_relationship(leader=copied, status=CopyRelationship.Status.STOPPED)
    make_relationship(leader=paused, status=CopyRelationship.Status.PAUSED)
    make_relationship(leader=owner_stopped, status=CopyRelationship.Status.STOPPED)
    make_relationship(leader=staff_stopped, staff_hold=CopyRelationship.StaffHold.STOPPED)
    # A paused follow keeps its leader polled: its followers see the copies they skipped.
    assert sorted(leaders_due(now=timezone.now() + timedelta(seconds=10))) == sorted([copied.id, paused.id])
    assert nobody.id not in leaders_due()
