"""Issue #18, finding 1: follows staff had paused or stopped before holds existed become holds.

The migration reads the audit log: a pause or stop whose last change was made by staff becomes a
staff hold, and the follow's status goes back to its owner's own last choice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("copytrading", "0004_archive_tables")]
AFTER = [("copytrading", "0005_staff_holds")]


@pytest.fixture
def executor(transactional_db: None) -> Iterator[MigrationExecutor]:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _event(apps: Any, follow: Any, actor: Any, action: str, reason: str, after: dict[str, str]) -> None:
    apps.get_model("polyhunter", "AuditEvent").objects.create(
        actor=actor,
        actor_label=actor.username if actor else "command:pause",
        action=action,
        target_type="copytrading.copyrelationship",
        target_id=str(follow.pk),
        reason=reason,
        after=after,
    )


def test_finding_1_staff_pauses_and_stops_made_before_holds_migrate_to_holds(executor: MigrationExecutor) -> None:
    # Every other app as it is now (their tables are), copytrading before the holds.
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "copytrading"]
    apps = executor.loader.project_state([*others, *BEFORE]).apps
    User = apps.get_model("accounts", "User")
    owner = User.objects.create(username="olga")
    staff = User.objects.create(username="stan", is_staff=True)
    account = apps.get_model("accounts", "TradingAccount").objects.create(user=owner, label="Main")
    leaders = apps.get_model("copytrading", "WatchedWallet")
    follows = apps.get_model("copytrading", "CopyRelationship")

    def follow(n: int, status: str, reason: str) -> Any:
        leader = leaders.objects.create(address="0x" + f"{n:040x}")
        row = follows.objects.create(account=account, leader=leader, status=status, status_reason=reason)
        _event(apps, row, owner, "follow.create", "", {"status": "active"})
        return row

    by_staff = follow(1, "paused", "under review")
    _event(apps, by_staff, staff, "follow.paused", "under review", {"status": "paused"})
    by_owner = follow(2, "paused", "pause by owner")
    _event(apps, by_owner, owner, "follow.paused", "pause by owner", {"status": "paused"})
    both = follow(3, "stopped", "abuse")
    owner_pause = {"status": "paused", "status_reason": "pause by owner"}
    _event(apps, both, owner, "follow.paused", "pause by owner", owner_pause)
    _event(apps, both, staff, "follow.stopped", "abuse", {"status": "stopped"})
    by_command = follow(4, "paused", "incident 12")
    _event(apps, by_command, None, "follow.paused", "incident 12", {"status": "paused"})
    archived = follow(6, "stopped", "old abuse")  # the staff stop is past retention, archived
    apps.get_model("polyhunter", "ArchivedAuditEvent").objects.create(
        original_id=10_000,
        code=uuid.uuid4(),
        created_at=timezone.now(),
        actor_id=staff.id,
        actor_label="stan",
        action="follow.stopped",
        target_type="copytrading.copyrelationship",
        target_id=str(archived.pk),
        reason="old abuse",
        after={"status": "stopped"},
    )
    unrecorded = follows.objects.create(
        account=account, leader=leaders.objects.create(address="0x" + "5" * 40), status="stopped"
    )

    executor.loader.build_graph()
    executor.migrate(AFTER)
    migrated = executor.loader.project_state(AFTER).apps.get_model("copytrading", "CopyRelationship")

    def state(row: Any) -> tuple[str, str, str, str]:
        new = migrated.objects.get(pk=row.pk)
        return new.status, new.status_reason, new.staff_hold, new.staff_hold_reason

    assert state(by_staff) == ("active", "", "paused", "under review")
    assert state(by_owner) == ("paused", "pause by owner", "", "")
    assert state(both) == ("paused", "pause by owner", "stopped", "abuse")
    assert state(by_command) == ("active", "", "paused", "incident 12")
    assert state(archived) == ("active", "", "stopped", "old abuse")
    assert state(unrecorded) == ("stopped", "", "", "")
