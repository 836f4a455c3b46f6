from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import TradingAccount
from copytrading.models import CopyRelationship
from polyhunter.models import AuditEvent
from tests.factories import make_leader_trade, make_relationship
from tests.pages.conftest import Owned

pytestmark = pytest.mark.django_db


def bulk(client: Client, model: str, action: str, pks: list[int], **extra: str) -> str:
    url = reverse(f"admin:{model}_changelist")
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], **extra}
    if "reason" not in extra:
        data["index"] = "0"
    return str(client.post(url, data, follow=True).content.decode())


def test_the_leader_list_counts_followers_and_the_page_lists_them(staff_client: Client, owned: Owned) -> None:
    leader = owned.follow.leader
    make_relationship(leader=leader)
    make_relationship(leader=leader, status=CopyRelationship.Status.STOPPED)
    changelist = staff_client.get(reverse("admin:copytrading_watchedwallet_changelist")).content.decode()
    assert '<td class="field-follower_count">2</td>' in changelist
    change = staff_client.get(reverse("admin:copytrading_watchedwallet_change", args=[leader.pk])).content.decode()
    assert "Followers" in change
    assert owned.account.label in change


def test_pausing_a_leader_asks_for_a_reason_and_goes_through_the_audited_service(
    staff_client: Client, owned: Owned
) -> None:
    leader = owned.follow.leader
    ask = bulk(staff_client, "copytrading_watchedwallet", "pause_selected", [leader.pk])
    assert "Reason (stored in the audit log)" in ask
    bulk(staff_client, "copytrading_watchedwallet", "pause_selected", [leader.pk], reason="wash trading")
    leader.refresh_from_db()
    assert (leader.paused, leader.paused_reason) == (True, "wash trading")
    assert AuditEvent.objects.filter(action="leader.pause", actor_label="root", reason="wash trading").exists()
    bulk(staff_client, "copytrading_watchedwallet", "resume_selected", [leader.pk], reason="cleared")
    leader.refresh_from_db()
    assert not leader.paused


def test_pausing_an_account_goes_through_the_audited_service(staff_client: Client, owned: Owned) -> None:
    bulk(staff_client, "accounts_tradingaccount", "pause_selected", [owned.account.pk], reason="chargeback")
    owned.account.refresh_from_db()
    assert owned.account.paused
    assert AuditEvent.objects.filter(action="account.pause", reason="chargeback").exists()


def test_stopping_follows_from_the_admin_is_an_audited_staff_hold(staff_client: Client, owned: Owned) -> None:
    bulk(staff_client, "copytrading_copyrelationship", "stop_selected", [owned.follow.pk], reason="abuse")
    owned.follow.refresh_from_db()
    assert (owned.follow.staff_hold, owned.follow.staff_hold_reason) == ("stopped", "abuse")
    assert (owned.follow.status, owned.follow.effective_status) == ("active", "stopped")
    assert AuditEvent.objects.get(action="follow.hold_stopped").reason == "abuse"


def relationship_form(follow: CopyRelationship, **changes: str) -> dict[str, str]:
    data = {
        "sizing_mode": follow.sizing_mode,
        "sizing_value": str(follow.sizing_value),
        "min_usdc_per_trade": "",
        "max_usdc_per_trade": "",
        "max_position_usdc_per_market": "",
        "daily_cap_usdc": str(follow.daily_cap_usdc or ""),
        "slippage_bps": str(follow.slippage_bps),
        "price_min": "",
        "price_max": "",
        "market_allow": "[]",
        "market_deny": "[]",
        "copy_sells": "on",
        "order_type": follow.order_type,
        "stop_loss_pct": "",
        "take_profit_pct": "",
    }
    data.update(changes)
    return data


def test_a_staff_edit_of_a_follow_obeys_the_follower_rules(staff_client: Client, owned: Owned) -> None:
    url = reverse("admin:copytrading_copyrelationship_change", args=[owned.follow.pk])
    refused = staff_client.post(url, relationship_form(owned.follow, min_usdc_per_trade="9", max_usdc_per_trade="3"))
    assert refused.status_code == 200
    assert "Must be at least the minimum per trade." in refused.content.decode()
    saved = staff_client.post(url, relationship_form(owned.follow, daily_cap_usdc="75"))
    assert saved.status_code == 302
    owned.follow.refresh_from_db()
    assert owned.follow.daily_cap_usdc == Decimal(75)
    event = AuditEvent.objects.get(action="follow.update")
    assert (event.actor_label, event.before, event.after) == (
        "root",
        {"daily_cap_usdc": "50.000000"},
        {"daily_cap_usdc": "75"},
    )


def test_staff_cannot_reroute_or_restatus_a_follow_by_editing_it(staff_client: Client, owned: Owned) -> None:
    url = reverse("admin:copytrading_copyrelationship_change", args=[owned.follow.pk])
    staff_client.post(url, relationship_form(owned.follow, status="stopped", deployment="1"))
    owned.follow.refresh_from_db()
    assert (owned.follow.status, owned.follow.deployment) == ("active", None)


def test_the_leader_trade_list_shows_source_and_detection_lag(staff_client: Client, owned: Owned) -> None:
    trade = make_leader_trade(leader=owned.follow.leader, source="data_api")
    trade.detected_at = trade.occurred_at + timedelta(seconds=2.4)
    trade.save()
    page = staff_client.get(reverse("admin:copytrading_leadertrade_changelist"), {"source__exact": "data_api"})
    text = page.content.decode()
    assert "2.4 s" in text
    assert "Data API" in text


def test_the_audit_log_cannot_be_changed_from_the_admin(staff_client: Client, owned: Owned) -> None:
    bulk(staff_client, "copytrading_copyrelationship", "pause_selected", [owned.follow.pk], reason="check")
    event = AuditEvent.objects.latest("id")
    change_url = reverse("admin:polyhunter_auditevent_change", args=[event.pk])
    page = staff_client.get(change_url).content.decode()
    assert 'name="_save"' not in page
    assert staff_client.get(reverse("admin:polyhunter_auditevent_add")).status_code == 403
    assert staff_client.post(reverse("admin:polyhunter_auditevent_delete", args=[event.pk])).status_code == 403


def test_an_account_page_shows_secret_status_and_address_only(staff_client: Client, owned: Owned) -> None:
    page = staff_client.get(reverse("admin:accounts_tradingaccount_change", args=[owned.account.pk])).content.decode()
    assert "Private key" in page
    assert "not set" in page
    assert "field-private_key_ciphertext" not in page
    assert "field-api_credentials_ciphertext" not in page


def guardrail_form(**changes: str) -> dict[str, str]:
    """The guardrail settings' admin form at its defaults, with ``changes``."""
    data = {
        "max_order_usdc": "500",
        "max_daily_usdc_per_account": "5000",
        "max_market_position_usdc": "2000",
        "signer_orders_per_second": "10",
        "breaker_window_seconds": "60",
        "breaker_min_orders": "20",
        "breaker_unknown_ratio": "0.5",
        "max_leader_trade_age_seconds": "120",
        "max_follows_per_user": "20",
        "default_follow_daily_cap_usdc": "100",
        "fleet_debt_threshold_usdc": "0",
        "fleet_min_gas_pol": "0.05",
    }
    return data | changes


def test_guardrail_edits_record_who_changed_them(staff_client: Client) -> None:
    from execution.models import GuardrailSettings

    row = GuardrailSettings.current()
    url = reverse("admin:execution_guardrailsettings_change", args=[row.pk])
    assert staff_client.post(url, guardrail_form(max_order_usdc="250")).status_code == 302
    row.refresh_from_db()
    assert row.max_order_usdc == Decimal(250)
    assert row.updated_by is not None
    assert row.updated_by.username == "root"
    assert AuditEvent.objects.filter(action="guardrailsettings.change").exists()


def test_the_account_add_form_has_no_secret_inputs(staff_client: Client) -> None:
    page = staff_client.get(reverse("admin:accounts_tradingaccount_add")).content.decode()
    assert 'name="private_key_ciphertext"' not in page
    assert 'name="api_credentials_ciphertext"' not in page
    assert TradingAccount.objects.count() == 0
