"""Issue #18, finding 1: a follower could undo a staff pause or stop.

Staff and the owner shared one ``status``: the owner's "resume" reactivated a follow staff had
paused with a reason, and following the same leader again restarted one staff had stopped.
Staff holds are now separate from the owner's choice and only staff lift them; the dashboard,
the follow pages, the admin and the execution gate all read the same effective state.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyRelationship, CopyTrade
from copytrading.pipeline.context import gate_context, gate_inputs
from copytrading.summaries import follow_state
from execution.guardrails import evaluate
from execution.switches import switch_states
from polyhunter.models import AuditEvent
from tests.admin.test_model_admins import bulk
from tests.factories import make_copy_trade, make_leader_trade, shared_deployment
from tests.pages.conftest import Owned
from tests.pages.test_follows import form

pytestmark = pytest.mark.django_db


def gate_reason(follow: CopyRelationship) -> str:
    """What the execution gate decides for a harmless pending copy of this follow ('' = allowed)."""
    row = make_copy_trade(CopyRelationship.objects.get(pk=follow.pk), status=CopyTrade.Status.PENDING)
    row = CopyTrade.objects.select_related("relationship", "account", "leader_trade__leader").get(pk=row.pk)
    verdict = evaluate(gate_inputs(row=row, context=gate_context(), notional=Decimal(1), exposure=None))
    return "" if verdict.allowed else verdict.reason


def page_state(client: Client, follow: CopyRelationship) -> str:
    fragment = client.get(reverse("follow_edit", kwargs={"code": follow.code})).content.decode()
    return fragment.split(f'id="follow-status-{follow.code}"', 1)[1].split("</span>", 1)[0]


def test_finding_1_an_owner_cannot_resume_a_follow_staff_paused(
    staff_client: Client, owner_client: Client, owned: Owned
) -> None:
    """Failed before the fix: the owner's resume set the shared status back to active."""
    bulk(staff_client, "copytrading_copyrelationship", "pause_selected", [owned.follow.pk], reason="under review")
    response = owner_client.post(reverse("follow_status", kwargs={"code": owned.follow.code}), {"action": "resume"})
    assert response.status_code == 302
    follow = CopyRelationship.objects.select_related("leader", "account").get(pk=owned.follow.pk)
    assert follow.staff_hold == CopyRelationship.StaffHold.PAUSED
    assert follow.staff_hold_reason == "under review"
    assert gate_reason(follow) == "follow_held"
    state = follow_state(relationship=follow, switches=switch_states())
    assert not state.copying
    assert state.label == "paused by staff"
    assert "paused by staff" in page_state(owner_client, follow)


def test_finding_1_following_again_does_not_restart_a_follow_staff_stopped(
    staff_client: Client, owner_client: Client, owned: Owned
) -> None:
    """Failed before the fix: follow_create restarted any stopped follow, whoever had stopped it."""
    bulk(staff_client, "copytrading_copyrelationship", "stop_selected", [owned.follow.pk], reason="abuse")
    data = form(leader_address=owned.follow.leader.address, account=str(owned.account.code))
    response = owner_client.post(reverse("follow_new"), data)
    assert response.status_code == 200
    assert "Staff stopped this follow" in response.content.decode()
    owned.follow.refresh_from_db()
    assert owned.follow.staff_hold == CopyRelationship.StaffHold.STOPPED
    assert not AuditEvent.objects.filter(action="follow.restart").exists()
    trade = make_leader_trade(leader=owned.follow.leader)
    assert fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment()).created == 0


def test_finding_1_lifting_a_hold_leaves_the_owners_own_pause_in_place(
    staff_client: Client, owner_client: Client, owned: Owned
) -> None:
    status_url = reverse("follow_status", kwargs={"code": owned.follow.code})
    owner_client.post(status_url, {"action": "pause"})
    bulk(staff_client, "copytrading_copyrelationship", "pause_selected", [owned.follow.pk], reason="review")
    bulk(staff_client, "copytrading_copyrelationship", "resume_selected", [owned.follow.pk], reason="cleared")
    owned.follow.refresh_from_db()
    assert (owned.follow.status, owned.follow.staff_hold) == ("paused", "")
    assert gate_reason(owned.follow) == "follow_paused"
    owner_client.post(status_url, {"action": "resume"})
    assert gate_reason(owned.follow) == ""
    lifted = AuditEvent.objects.get(action="follow.hold_lift")
    assert (lifted.actor_label, lifted.reason, lifted.before["staff_hold"]) == ("root", "cleared", "paused")


def test_finding_1_the_pages_the_admin_and_the_gate_agree_on_a_staff_hold(
    staff_client: Client, owner_client: Client, owned: Owned
) -> None:
    bulk(staff_client, "copytrading_copyrelationship", "pause_selected", [owned.follow.pk], reason="review")
    dashboard = owner_client.get(reverse("dashboard")).content.decode()
    follows = owner_client.get(reverse("follows")).content.decode()
    for page in (dashboard, follows):
        assert "paused by staff" in page
        assert ">copying<" not in page
    changelist = staff_client.get(reverse("admin:copytrading_copyrelationship_changelist")).content.decode()
    assert "paused by staff" in changelist
    assert gate_reason(owned.follow) == "follow_held"
    trade = make_leader_trade(leader=owned.follow.leader)
    fanout_leader_trade(leader_trade_id=trade.id, deployment=shared_deployment())
    assert CopyTrade.objects.get(leader_trade=trade).reason_code == "follow_held"


def test_finding_1_the_pause_and_resume_commands_hold_and_lift_a_follow(owner_client: Client, owned: Owned) -> None:
    call_command("pause", "relationship", str(owned.follow.pk), "--reason", "incident 12")
    owner_client.post(reverse("follow_status", kwargs={"code": owned.follow.code}), {"action": "resume"})
    assert gate_reason(owned.follow) == "follow_held"
    call_command("resume", "relationship", str(owned.follow.code), "--reason", "incident over")
    assert gate_reason(owned.follow) == ""
    actions = list(AuditEvent.objects.filter(actor_label__startswith="command:").values_list("action", flat=True))
    assert sorted(actions) == ["follow.hold_lift", "follow.hold_paused"]


def test_the_console_counts_the_follows_staff_hold(staff_client: Client, owned: Owned) -> None:
    bulk(staff_client, "copytrading_copyrelationship", "pause_selected", [owned.follow.pk], reason="review")
    page = staff_client.get(reverse("console")).content.decode()
    assert "follows held by staff: <a" in page
    assert 'staff_hold__exact=paused">1</a>' in page
    held = staff_client.get(reverse("admin:copytrading_copyrelationship_changelist") + "?staff_hold__exact=paused")
    assert str(owned.follow.code) in held.content.decode()
