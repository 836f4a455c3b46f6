from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from copytrading.models import CopyRelationship, CopyTrade, Position
from execution.models import GuardrailSettings, TradingSwitch
from execution.switches import switch_set
from tests.factories import TOKEN_NO, TOKEN_YES, make_copy_trade, make_leader_trade
from tests.pages.conftest import Owned

pytestmark = pytest.mark.django_db


def page(client: Client) -> str:
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return str(response.content.decode())


def test_a_skipped_copy_reads_in_plain_words_with_its_detail(owner_client: Client, owned: Owned) -> None:
    assert "skipped: the price moved past your slippage limit (4.1 % &gt; 3 %)" in page(owner_client)


def test_a_blocked_copy_says_which_guardrail_stopped_it(owner_client: Client, owned: Owned) -> None:
    make_copy_trade(owned.follow, status=CopyTrade.Status.BLOCKED, reason_code="kill_switch")
    assert "blocked by a guardrail: the platform kill switch is on" in page(owner_client)


@pytest.mark.parametrize(
    ("switch", "words"),
    [
        (TradingSwitch.Name.KILL_SWITCH, "the platform kill switch is on"),
        (TradingSwitch.Name.PAUSE_COPIES, "staff paused all copies"),
        (TradingSwitch.Name.EXITS_ONLY, "the platform only runs exits right now"),
    ],
)
def test_a_follow_shows_its_effective_state_under_a_global_switch(
    owner_client: Client, owned: Owned, switch: str, words: str
) -> None:
    assert ">copying<" in page(owner_client)
    switch_set(name=switch, engaged=True, actor="test", reason="drill")
    text = page(owner_client)
    assert ">not copying<" in text
    assert words in text
    assert ">copying<" not in text


def test_a_follow_paused_by_staff_through_its_leader_is_not_shown_as_copying(
    owner_client: Client, owned: Owned
) -> None:
    owned.follow.leader.paused = True
    owned.follow.leader.save()
    text = page(owner_client)
    assert "staff paused copying of this leader" in text
    assert ">copying<" not in text


def test_a_speed_account_without_keys_is_not_shown_as_copying(owner_client: Client, owned: Owned) -> None:
    owned.account.mode = "speed"
    owned.account.save()
    assert "your custody setup is incomplete" in page(owner_client)


def test_todays_spend_counts_unknown_outcomes_as_spent(owner_client: Client, owned: Owned) -> None:
    hashes = iter("0x" + c * 64 for c in "abcdef")
    make_copy_trade(owned.follow, status=CopyTrade.Status.UNKNOWN, planned_usdc=Decimal(12), order_hash=next(hashes))
    make_copy_trade(
        owned.follow,
        status=CopyTrade.Status.CONFIRMED,
        planned_usdc=Decimal(10),
        fill_usdc=Decimal("9.5"),
        fee_usdc=Decimal("0.1"),
        order_hash=next(hashes),
    )
    make_copy_trade(owned.follow, status=CopyTrade.Status.REJECTED, planned_usdc=Decimal(99))
    GuardrailSettings.current()
    GuardrailSettings.objects.filter(id=1).update(max_daily_usdc_per_account=200)
    text = page(owner_client)
    assert "$21.60 of $200 daily cap" in text  # 12 unknown + 9.5 filled + 0.1 fee; the rejection spent nothing
    assert re.search(r"\$21\.60</td>\s*<td class=\"num\">\$50\.00", text)  # the follow's own line, cap 50


def test_todays_spend_counts_the_most_fee_an_order_in_flight_can_pay(owner_client: Client, owned: Owned) -> None:
    """Issue 17, fix 2: "spent today" showed in-flight and filled orders without their fee, so the
    page said a follower was under a cap they were already over once the fees were charged."""
    hashes = iter("0x" + c * 64 for c in "abc")
    make_copy_trade(
        owned.follow,
        status=CopyTrade.Status.UNKNOWN,
        planned_usdc=Decimal(12),
        planned_fee_usdc=Decimal("0.475"),
        order_hash=next(hashes),
    )
    make_copy_trade(
        owned.follow,
        status=CopyTrade.Status.FILLED,
        planned_usdc=Decimal(10),
        planned_fee_usdc=Decimal("0.396"),
        fill_usdc=Decimal("9.5"),
        order_hash=next(hashes),
    )
    GuardrailSettings.current()
    GuardrailSettings.objects.filter(id=1).update(max_daily_usdc_per_account=200)
    text = page(owner_client)
    assert "$22.37 of $200 daily cap" in text  # 12 + 0.475 unknown, 9.5 + 0.396 filled (fee not known yet)
    assert "fees count too" in text


def test_open_positions_show_cost_mark_and_unrealised(owner_client: Client, owned: Owned) -> None:
    Position.objects.create(
        account=owned.account,
        relationship=owned.follow,
        token_id=TOKEN_YES,
        shares=Decimal(20),
        cost_usdc=Decimal(10),
        mark_price=Decimal("0.6"),
    )
    text = page(owner_client)
    assert "0.5000" in text  # average price
    assert "$2.00" in text  # 20 x 0.6 - 10


def test_the_pnl_chart_is_an_inline_svg_built_from_fills(owner_client: Client, owned: Owned) -> None:
    start = timezone.now() - timedelta(hours=3)
    buy = make_leader_trade(leader=owned.follow.leader, token_id=TOKEN_NO)
    make_copy_trade(
        owned.follow,
        leader_trade=buy,
        status=CopyTrade.Status.CONFIRMED,
        side="BUY",
        size_matched=Decimal(20),
        fill_usdc=Decimal(10),
        fill_price=Decimal("0.5"),
        filled_at=start,
        order_hash="0x" + "1" * 64,
    )
    sell = make_leader_trade(leader=owned.follow.leader, token_id=TOKEN_NO, side="SELL")
    make_copy_trade(
        owned.follow,
        leader_trade=sell,
        status=CopyTrade.Status.CONFIRMED,
        side="SELL",
        size_matched=Decimal(10),
        fill_usdc=Decimal(7),
        fill_price=Decimal("0.7"),
        filled_at=start + timedelta(hours=1),
        order_hash="0x" + "2" * 64,
    )
    text = page(owner_client)
    assert '<svg role="img" aria-label="Profit and loss over time"' in text
    points = re.search(r'<polyline [^>]*points="([^"]+)"', text)
    assert points is not None
    assert len(points.group(1).split()) == 3  # two fills and now
    assert "4.00 pUSD" in text  # -10 + 7 + 10 shares x 0.7
    assert "<script" not in text.split("<body")[1]  # drawn by the server, not by a chart script


def test_the_recent_copies_fragment_is_what_htmx_polls(owner_client: Client, owned: Owned) -> None:
    text = page(owner_client)
    assert f'hx-get="{reverse("dashboard_copies")}"' in text
    fragment = owner_client.get(reverse("dashboard_copies"), headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith("<table>")
    assert "the price moved past your slippage limit" in fragment


def test_a_user_without_an_account_is_invited_to_set_up_custody(client: Client) -> None:
    from tests.factories import make_user

    client.force_login(make_user())
    assert "Set up custody" in page(client)


def test_a_stopped_follow_reads_stopped(owner_client: Client, owned: Owned) -> None:
    CopyRelationship.objects.filter(pk=owned.follow.pk).update(status="stopped")
    assert "you stopped this follow" in page(owner_client)
