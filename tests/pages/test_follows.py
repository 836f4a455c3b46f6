from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from copytrading.models import CopyRelationship, WatchedWallet
from execution.models import TradingSwitch
from execution.switches import switch_set
from polyhunter.models import AuditEvent
from tests.factories import TOKEN_YES, make_leader, make_user
from tests.pages.conftest import Owned

pytestmark = pytest.mark.django_db

# EIP-55 example addresses from the EIP itself.
CHECKSUMMED = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
BAD_CHECKSUM = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"


def form(**changes: Any) -> dict[str, Any]:
    data = {
        "sizing_mode": "fixed_usdc",
        "sizing_value": "10",
        "slippage_percent": "3",
        "order_type": "FAK",
        "copy_sells": "on",
        "min_usdc_per_trade": "",
        "max_usdc_per_trade": "",
        "max_position_usdc_per_market": "",
        "daily_cap_usdc": "50",
        "price_min": "",
        "price_max": "",
        "market_allow": "",
        "market_deny": "",
        "stop_loss_pct": "",
        "take_profit_pct": "",
    }
    data.update(changes)
    return data


def create(client: Client, owned: Owned, **changes: Any) -> Any:
    data = form(leader_address=CHECKSUMMED, account=str(owned.account.code), **changes)
    return client.post(reverse("follow_new"), data)


def test_following_a_checksummed_address_stores_it_lower_case_and_creates_the_leader(
    owner_client: Client, owned: Owned
) -> None:
    response = create(owner_client, owned, daily_cap_usdc="25", slippage_percent="2.5")
    assert response.status_code == 302
    leader = WatchedWallet.objects.get(address=CHECKSUMMED.lower())
    follow = CopyRelationship.objects.get(account=owned.account, leader=leader)
    assert follow.daily_cap_usdc == Decimal(25)
    assert follow.slippage_bps == 250
    assert follow.status == CopyRelationship.Status.ACTIVE
    event = AuditEvent.objects.get(action="follow.create")
    assert event.actor_label == owned.user.username
    assert event.after["leader"] == CHECKSUMMED.lower()


def test_it_links_an_existing_leader_instead_of_creating_another(owner_client: Client, owned: Owned) -> None:
    existing = make_leader(address=CHECKSUMMED.lower())
    create(owner_client, owned)
    assert WatchedWallet.objects.filter(address=CHECKSUMMED.lower()).count() == 1
    assert CopyRelationship.objects.filter(leader=existing, account=owned.account).exists()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (BAD_CHECKSUM, "invalid EIP-55 checksum"),
        ("0x1234", "not a 0x-prefixed 20-byte hex address"),
        ("not an address", "not a 0x-prefixed 20-byte hex address"),
    ],
)
def test_it_refuses_a_bad_leader_address_with_a_clear_error(
    owner_client: Client, owned: Owned, address: str, message: str
) -> None:
    response = owner_client.post(reverse("follow_new"), form(leader_address=address, account=str(owned.account.code)))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WatchedWallet.objects.filter(address=address.lower()).exists()


def test_following_the_same_leader_twice_is_refused(owner_client: Client, owned: Owned) -> None:
    create(owner_client, owned)
    response = create(owner_client, owned)
    assert "already follows that leader" in response.content.decode()


def test_a_stopped_follow_is_restarted_with_the_new_settings(owner_client: Client, owned: Owned) -> None:
    create(owner_client, owned)
    follow = CopyRelationship.objects.get(leader__address=CHECKSUMMED.lower())
    owner_client.post(reverse("follow_status", kwargs={"code": follow.code}), {"action": "stop"})
    response = create(owner_client, owned, sizing_value="7")
    assert response.status_code == 302
    follow.refresh_from_db()
    assert (follow.status, follow.sizing_value) == (CopyRelationship.Status.ACTIVE, Decimal(7))
    assert AuditEvent.objects.filter(action="follow.restart").count() == 1


@pytest.mark.parametrize(
    ("changes", "field_error"),
    [
        ({"min_usdc_per_trade": "20", "max_usdc_per_trade": "5"}, "Must be at least the minimum per trade."),
        ({"price_min": "0.7", "price_max": "0.3"}, "Must be above the lowest price."),
        ({"price_max": "1.5"}, "Price must be 0\u20131 (more than 0, less than 1)."),
        ({"sizing_value": "0"}, "Amount must be more than $0."),
        ({"sizing_mode": "proportional", "sizing_value": "50"}, "Ratio must be 0\u201310 (more than 0)."),
        ({"slippage_percent": "80"}, "Slippage must be 0\u201350 %."),
        ({"slippage_percent": "500"}, "Slippage must be 0\u201350 %."),  # caught by the field's digits
        ({"market_allow": "not-a-market"}, "Not a token id or 0x condition id: not-a-market."),
        ({"market_allow": TOKEN_YES, "market_deny": TOKEN_YES}, "Listed as both allowed and denied"),
        ({"stop_loss_pct": "150"}, "Stop-loss must be 0\u2013100 % (more than 0, less than 100), or empty."),
        ({"stop_loss_pct": "1000"}, "Stop-loss must be 0\u2013100 % (more than 0, less than 100), or empty."),
        ({"daily_cap_usdc": "-1"}, "Must be more than $0, or empty for no limit."),
        ({"daily_cap_usdc": "abc"}, "Enter a number."),
    ],
)
def test_editing_refuses_bad_settings_with_a_clear_error(
    owner_client: Client, owned: Owned, changes: dict[str, str], field_error: str
) -> None:
    before = owned.follow.updated_at
    response = owner_client.post(reverse("follow_edit", kwargs={"code": owned.follow.code}), form(**changes))
    assert response.status_code == 200
    assert field_error in response.content.decode()
    owned.follow.refresh_from_db()
    assert owned.follow.updated_at == before


def test_editing_saves_every_setting_and_audits_what_changed(owner_client: Client, owned: Owned) -> None:
    condition = "0x" + "AB" * 32
    data = form(
        sizing_mode="proportional",
        sizing_value="0.25",
        min_usdc_per_trade="2",
        max_usdc_per_trade="40",
        max_position_usdc_per_market="100",
        daily_cap_usdc="200",
        slippage_percent="1.5",
        price_min="0.05",
        price_max="0.95",
        market_allow=f"{TOKEN_YES}\n{condition}",
        market_deny="",
        order_type="FOK",
        stop_loss_pct="20",
        take_profit_pct="50",
    )
    del data["copy_sells"]
    response = owner_client.post(reverse("follow_edit", kwargs={"code": owned.follow.code}), data)
    assert response.status_code == 302
    follow = CopyRelationship.objects.get(pk=owned.follow.pk)
    assert follow.sizing_mode == "proportional"
    assert follow.sizing_value == Decimal("0.25")
    assert (follow.min_usdc_per_trade, follow.max_usdc_per_trade) == (Decimal(2), Decimal(40))
    assert follow.max_position_usdc_per_market == Decimal(100)
    assert follow.daily_cap_usdc == Decimal(200)
    assert follow.slippage_bps == 150
    assert (follow.price_min, follow.price_max) == (Decimal("0.05"), Decimal("0.95"))
    assert follow.market_allow == [TOKEN_YES, condition.lower()]
    assert follow.copy_sells is False
    assert follow.order_type == "FOK"
    assert (follow.stop_loss_pct, follow.take_profit_pct) == (Decimal(20), Decimal(50))
    event = AuditEvent.objects.get(action="follow.update")
    assert event.before["sizing_mode"] == "fixed_usdc"
    assert event.after["sizing_mode"] == "proportional"


def test_the_edit_page_shows_the_current_settings(owner_client: Client, owned: Owned) -> None:
    owned.follow.slippage_bps = 125
    owned.follow.market_deny = [TOKEN_YES]
    owned.follow.save()
    page = owner_client.get(reverse("follow_edit", kwargs={"code": owned.follow.code})).content.decode()
    assert 'value="1.25"' in page
    assert TOKEN_YES in page


@pytest.mark.parametrize(("action", "status"), [("pause", "paused"), ("stop", "stopped")])
def test_pause_and_stop_change_the_status_and_are_audited(
    owner_client: Client, owned: Owned, action: str, status: str
) -> None:
    response = owner_client.post(reverse("follow_status", kwargs={"code": owned.follow.code}), {"action": action})
    assert response.status_code == 302
    owned.follow.refresh_from_db()
    assert owned.follow.status == status
    assert AuditEvent.objects.filter(action=f"follow.{status}", actor_label=owned.user.username).exists()


def test_resume_with_htmx_returns_the_refreshed_status_fragment(owner_client: Client, owned: Owned) -> None:
    owned.follow.status = CopyRelationship.Status.PAUSED
    owned.follow.save()
    url = reverse("follow_status", kwargs={"code": owned.follow.code})
    response = owner_client.post(url, {"action": "resume"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith(f'<div id="follow-status-{owned.follow.code}"')
    assert "copying" in fragment
    assert "<html" not in fragment


def test_an_unknown_status_action_changes_nothing(owner_client: Client, owned: Owned) -> None:
    owner_client.post(reverse("follow_status", kwargs={"code": owned.follow.code}), {"action": "delete"})
    owned.follow.refresh_from_db()
    assert owned.follow.status == CopyRelationship.Status.ACTIVE


def test_the_follows_page_never_says_copying_while_the_kill_switch_is_on(owner_client: Client, owned: Owned) -> None:
    switch_set(name=TradingSwitch.Name.KILL_SWITCH, engaged=True, actor="test", reason="incident")
    page = owner_client.get(reverse("follows")).content.decode()
    assert "the platform kill switch is on" in page
    assert ">copying<" not in page


def test_following_needs_a_trading_account_first(client: Client) -> None:
    user = make_user()
    client.force_login(user)
    response = client.get(reverse("follow_new"))
    assert response.status_code == 302
    assert response["Location"] == reverse("custody")


def test_a_new_follow_starts_with_the_platforms_default_daily_cap(owner_client: Client, owned: Owned) -> None:
    from execution.models import GuardrailSettings

    GuardrailSettings.current()
    GuardrailSettings.objects.filter(id=1).update(default_follow_daily_cap_usdc=Decimal(75))
    page = owner_client.get(reverse("follow_new")).content.decode()
    assert 'name="daily_cap_usdc" value="75' in page


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"sizing_mode": "proportional", "sizing_value": "5"}, "a ratio of 5 copies more than the leader"),
        ({"daily_cap_usdc": ""}, "no daily cap"),
    ],
)
def test_risky_settings_are_not_saved_until_the_follower_confirms_the_worst_case(
    owner_client: Client, owned: Owned, changes: dict[str, str], why: str
) -> None:
    response = create(owner_client, owned, **changes)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please confirm" in page
    assert why in page
    assert 'name="confirm_risk"' in page
    assert not CopyRelationship.objects.filter(leader__address=CHECKSUMMED.lower()).exists()
    confirmed = create(owner_client, owned, confirm_risk="on", **changes)
    assert confirmed.status_code == 302
    assert CopyRelationship.objects.filter(leader__address=CHECKSUMMED.lower()).exists()


def test_the_confirmation_shows_the_worst_case_on_the_leaders_recent_trades(owner_client: Client, owned: Owned) -> None:
    from django.utils import timezone

    from copytrading.leaders.stats import HistoricTrade
    from copytrading.models import LeaderProfile

    leader = make_leader(address=CHECKSUMMED.lower(), label="Whale")
    now = timezone.now()
    trades = [
        HistoricTrade(
            now, "0x" + "1" * 64, TOKEN_YES, "", "BUY", Decimal(20), Decimal("11.60"), Decimal("0.58"), "Rain?"
        ),
        HistoricTrade(
            now, "0x" + "2" * 64, TOKEN_YES, "", "BUY", Decimal(10), Decimal("5.80"), Decimal("0.58"), "Rain?"
        ),
    ]
    LeaderProfile.objects.create(leader=leader, state="ready", trades=[t.to_json() for t in trades])
    page = create(owner_client, owned, sizing_mode="proportional", sizing_value="5", daily_cap_usdc="").content.decode()
    assert "Worst case on Whale" in page
    assert "$58.00" in page  # the $11.60 leader trade at a ratio of 5
    assert "$87.00" in page  # both in one day, with nothing to stop it
    assert "nothing to stop it" in page


def test_editing_asks_again_only_when_the_change_adds_risk(owner_client: Client, owned: Owned) -> None:
    url = reverse("follow_edit", kwargs={"code": owned.follow.code})
    removing_the_cap = owner_client.post(url, form(daily_cap_usdc=""))
    assert "Please confirm" in removing_the_cap.content.decode()
    owned.follow.refresh_from_db()
    assert owned.follow.daily_cap_usdc == Decimal(50)
    assert owner_client.post(url, form(daily_cap_usdc="", confirm_risk="on")).status_code == 302
    owned.follow.refresh_from_db()
    assert owned.follow.daily_cap_usdc is None
    # Already without a cap: changing the slippage asks nothing more.
    assert owner_client.post(url, form(daily_cap_usdc="", slippage_percent="2")).status_code == 302
