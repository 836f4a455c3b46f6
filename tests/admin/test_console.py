from __future__ import annotations

import itertools
import re
from decimal import Decimal

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from copytrading.models import CopyRelationship, CopyTrade, Deployment, WatchedWallet
from copytrading.pipeline.context import gate_context
from copytrading.pipeline.execute import copytrades_execute
from execution.guardrails import GateInputs, evaluate
from execution.models import TradingSwitch
from execution.simulator.server import VenueSimulator
from execution.switches import switch_set, switch_state
from polyhunter.models import AuditEvent
from tests.factories import make_copy_trade, make_leader, make_relationship, shared_deployment
from tests.pages.conftest import Owned

pytestmark = pytest.mark.django_db
KILL = TradingSwitch.Name.KILL_SWITCH
SWITCHES = list(TradingSwitch.Name.values)


def console(client: Client) -> str:
    response = client.get(reverse("console"))
    assert response.status_code == 200
    return str(response.content.decode())


def shown_state(page: str, name: str) -> str:
    match = re.search(rf'<tr id="switch-{name}" data-engaged="(on|off)">', page)
    assert match is not None
    return match.group(1)


def flip(client: Client, name: str, *, on: bool, reason: str) -> str:
    data = {"form": "switch", "name": name, "engaged": "1" if on else "0", "reason": reason}
    return str(client.post(reverse("console"), data, follow=True).content.decode())


def gate_refuses_a_copy() -> bool:
    """What execution.guardrails decides for an otherwise harmless copy, fed from switch_state."""
    verdict = evaluate(
        GateInputs(
            lane="copy",
            kill_switch=switch_state(KILL).engaged,
            pause_copies=switch_state(TradingSwitch.Name.PAUSE_COPIES).engaged,
            exits_only=switch_state(TradingSwitch.Name.EXITS_ONLY).engaged,
            leader_paused=False,
            account_paused=False,
            follow_held=False,
            follow_paused=False,
            notional_usdc=Decimal(1),
            max_order_usdc=Decimal(100),
            market_exposure_usdc=Decimal(0),
            market_cap_usdc=None,
            follow_spent_today_usdc=Decimal(0),
            follow_daily_cap_usdc=None,
            account_spent_today_usdc=Decimal(0),
            account_daily_cap_usdc=Decimal(100),
            breaker_open=False,
        )
    )
    return not verdict.allowed


@pytest.mark.parametrize("engaged", [True, False])
def test_the_kill_switch_flipped_in_the_database_is_what_the_console_shows_and_the_gate_does(
    staff_client: Client, owned: Owned, simulator: VenueSimulator, engaged: bool
) -> None:
    # Flip the row directly, as a script or a second admin would: no service, no cache.
    TradingSwitch.objects.update_or_create(
        name=KILL, defaults={"engaged": engaged, "reason": "db flip", "changed_by_label": "dba"}
    )
    assert shown_state(console(staff_client), KILL) == ("on" if engaged else "off")
    assert gate_refuses_a_copy() is engaged
    # And the running pipeline obeys the same row: a pending copy is blocked, or gets past the gate.
    row = make_copy_trade(owned.follow, status=CopyTrade.Status.PENDING, deadline_at=timezone.now())
    copytrades_execute(ids=[row.id], deployment=shared_deployment())
    row.refresh_from_db()
    if engaged:
        assert (row.status, row.reason_code) == (CopyTrade.Status.BLOCKED, "kill_switch")
    else:
        assert row.reason_code != "kill_switch"


def test_the_console_shows_who_set_a_switch_when_and_why(staff_client: Client) -> None:
    switch_set(name=TradingSwitch.Name.PAUSE_COPIES, engaged=True, actor="command:pause (ops)", reason="venue incident")
    page = console(staff_client)
    assert shown_state(page, "pause_copies") == "on"
    assert "command:pause (ops)" in page
    assert "venue incident" in page
    assert "new copies are refused; exits still run" in page
    assert timezone.now().strftime("%Y-%m-%d") in page


def test_staff_turn_the_kill_switch_on_and_off_with_a_reason_and_both_are_audited(staff_client: Client) -> None:
    page = flip(staff_client, KILL, on=True, reason="suspicious fills")
    assert shown_state(page, KILL) == "on"
    assert switch_state(KILL).engaged
    page = flip(staff_client, KILL, on=False, reason="all clear")
    assert shown_state(page, KILL) == "off"
    actions = list(AuditEvent.objects.filter(actor_label="root").values_list("action", "reason"))
    assert ("switch.kill_switch.engage", "suspicious fills") in actions
    assert ("switch.kill_switch.release", "all clear") in actions


def test_a_switch_change_without_a_reason_is_refused(staff_client: Client) -> None:
    page = flip(staff_client, KILL, on=True, reason="   ")
    assert "A reason is required" in page
    assert not switch_state(KILL).engaged


def test_staff_who_may_only_view_cannot_flip_a_switch(viewer_client: Client) -> None:
    page = console(viewer_client)
    assert 'name="reason"' not in page
    flip(viewer_client, KILL, on=True, reason="curious")
    assert not switch_state(KILL).engaged


def test_a_follower_and_a_stranger_are_sent_to_the_admin_login(follower_client: Client, client: Client) -> None:
    for who in (follower_client, client):
        response = who.get(reverse("console"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        who.post(reverse("console"), {"form": "switch", "name": KILL, "engaged": "1", "reason": "x"})
    assert not switch_state(KILL).engaged


def test_the_console_lists_deployments_with_heartbeat_and_queues(staff_client: Client, owned: Owned) -> None:
    Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    shared_deployment()
    page = console(staff_client)
    assert "vip.fanout vip.exits vip.copies" in page
    assert "shared.fanout shared.exits shared.copies" in page
    assert "never" in page  # no heartbeat yet


def test_staff_move_a_user_to_a_dedicated_deployment_and_back(staff_client: Client, owned: Owned) -> None:
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    data = {"form": "route", "username": owned.user.username, "deployment": "vip", "reason": "whale"}
    page = staff_client.post(reverse("console"), data, follow=True).content.decode()
    assert "1 follow(s) moved to vip" in page
    assert CopyRelationship.objects.get(pk=owned.follow.pk).deployment == vip
    event = AuditEvent.objects.get(action="user.route")
    assert (event.actor_label, event.reason, event.after["deployment"]) == ("root", "whale", "vip")
    data |= {"deployment": "", "reason": "back to shared"}
    staff_client.post(reverse("console"), data)
    assert CopyRelationship.objects.get(pk=owned.follow.pk).deployment is None


def test_routing_an_unknown_user_or_without_a_reason_is_refused(staff_client: Client, owned: Owned) -> None:
    Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    page = staff_client.post(
        reverse("console"), {"form": "route", "username": "ghost", "deployment": "vip", "reason": "x"}, follow=True
    ).content.decode()
    assert "No such user" in page
    staff_client.post(reverse("console"), {"form": "route", "username": owned.user.username, "deployment": "vip"})
    assert CopyRelationship.objects.get(pk=owned.follow.pk).deployment is None


def test_the_console_shows_the_guardrail_limits(staff_client: Client) -> None:
    page = console(staff_client)
    assert "Largest order" in page
    assert "$500.00" in page
    assert reverse("admin:execution_guardrailsettings_change", args=[1]) in page


def test_the_admin_index_links_to_the_console(staff_client: Client) -> None:
    assert reverse("console") in staff_client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize("engaged", [frozenset(c) for c in itertools.product(*[[n, None] for n in SWITCHES])])
def test_for_every_combination_of_switches_the_console_and_the_gate_read_the_same_state(
    staff_client: Client, engaged: frozenset[str | None]
) -> None:
    for name in SWITCHES:
        TradingSwitch.objects.update_or_create(name=name, defaults={"engaged": name in engaged})
    page = console(staff_client)
    shown = {name for name in SWITCHES if shown_state(page, name) == "on"}
    assert shown == set(gate_context().switches) == engaged - {None}


@override_settings(DETECT_POLL_SECONDS=Decimal(2))
def test_finding_2_the_console_shows_the_data_api_polling_budget_in_use(staff_client: Client) -> None:
    """Issue #18, finding 2. Failed before the fix: staff could not see the shared budget."""
    now = timezone.now()
    for n in range(40):
        leader = make_leader()
        make_relationship(leader=leader)
        if n < 12:
            WatchedWallet.objects.filter(id=leader.id).update(data_api_polled_at=now)
    make_relationship(status=CopyRelationship.Status.STOPPED)  # its leader is not polled
    budget = " ".join(re.sub(r"<[^>]+>", " ", console(staff_client).split('id="polling-budget"')[1]).split())
    assert "40 leaders with a live follow" in budget
    assert "200 requests per 10 s wanted of 180 (111 %)" in budget
    assert "each leader is polled about every 2.2 s instead of 2 s" in budget
    assert "12 polls in the last 10 s" in budget
