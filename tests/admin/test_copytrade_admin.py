from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from copytrading.models import CopyTrade, Deployment
from polyhunter.admin import BoundedCountPaginator
from polyhunter.models import AuditEvent
from tests.factories import make_copy_trade
from tests.pages.conftest import Owned

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:copytrading_copytrade_changelist")


def listed(client: Client, **params: str) -> set[str]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return set(re.findall(r"/admin/copytrading/copytrade/(\d+)/change/", response.content.decode()))


def ids(*rows: CopyTrade) -> set[str]:
    return {str(row.pk) for row in rows}


@pytest.fixture
def mix(owned: Owned) -> dict[str, CopyTrade]:
    late = timezone.now() - timedelta(minutes=5)
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    return {
        "skipped": owned.copy,  # skipped, slippage
        "stuck": make_copy_trade(owned.follow, status=CopyTrade.Status.PENDING, deadline_at=late),
        "unknown": make_copy_trade(owned.follow, status=CopyTrade.Status.UNKNOWN, order_hash="0x" + "aa" * 32),
        "blocked": make_copy_trade(owned.follow, status=CopyTrade.Status.BLOCKED, reason_code="daily_cap"),
        "killed": make_copy_trade(owned.follow, status=CopyTrade.Status.BLOCKED, reason_code="kill_switch"),
        "exit": make_copy_trade(owned.follow, status=CopyTrade.Status.CONFIRMED, lane="exit", deployment=vip),
        "late_but_done": make_copy_trade(owned.follow, status=CopyTrade.Status.EXPIRED, deadline_at=late),
    }


def test_the_operational_filters_answer_their_questions(staff_client: Client, mix: dict[str, CopyTrade]) -> None:
    assert listed(staff_client, stuck="yes") == ids(mix["stuck"])
    assert listed(staff_client, outcome="unknown") == ids(mix["unknown"])
    assert listed(staff_client, blocked_by="kill_switch") == ids(mix["killed"])
    assert listed(staff_client, blocked_by="daily_cap") == ids(mix["blocked"])
    assert listed(staff_client, skipped_by="slippage") == ids(mix["skipped"])
    assert listed(staff_client, lane__exact="exit") == ids(mix["exit"])
    vip = mix["exit"].deployment
    assert listed(staff_client, deployment__id__exact=str(vip.pk)) == ids(mix["exit"])


def test_the_list_explains_each_row_in_plain_words(staff_client: Client, mix: dict[str, CopyTrade]) -> None:
    page = staff_client.get(CHANGELIST).content.decode()
    assert "blocked by a guardrail: the platform kill switch is on" in page
    assert "skipped: the price moved past your slippage limit" in page


def test_the_changelist_never_counts_the_whole_table(staff_client: Client, mix: dict[str, CopyTrade]) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert staff_client.get(CHANGELIST, {"stuck": "yes"}).status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the paginator counts (bounded)"
    for sql in counts:
        assert "LIMIT" in sql.upper(), sql


def test_a_capped_count_reads_as_at_least(staff_client: Client, mix: dict[str, CopyTrade]) -> None:
    original = BoundedCountPaginator.CAP
    BoundedCountPaginator.CAP = 3
    try:
        page = staff_client.get(CHANGELIST).content.decode()
    finally:
        BoundedCountPaginator.CAP = original
    assert re.search(r"3\+\s+copy trades", page)


def test_expire_asks_for_a_reason_then_expires_only_what_never_reached_the_venue(
    staff_client: Client, mix: dict[str, CopyTrade]
) -> None:
    selected = [str(mix["stuck"].pk), str(mix["unknown"].pk)]
    ask = staff_client.post(CHANGELIST, {"action": "expire", "_selected_action": selected, "index": "0"})
    assert ask.status_code == 200
    assert "Reason (stored in the audit log)" in ask.content.decode()
    assert CopyTrade.objects.get(pk=mix["stuck"].pk).status == CopyTrade.Status.PENDING
    done = staff_client.post(
        CHANGELIST, {"action": "expire", "_selected_action": selected, "reason": "stuck since the outage"}, follow=True
    )
    assert "Expired 1 copy trade(s); 1 may have reached the venue" in done.content.decode()
    assert CopyTrade.objects.get(pk=mix["stuck"].pk).status == CopyTrade.Status.EXPIRED
    assert CopyTrade.objects.get(pk=mix["unknown"].pk).status == CopyTrade.Status.UNKNOWN
    event = AuditEvent.objects.get(action="copytrade.expire")
    assert (event.actor_label, event.reason) == ("root", "stuck since the outage")


def test_the_per_row_expire_button_uses_the_same_service(staff_client: Client, mix: dict[str, CopyTrade]) -> None:
    row = mix["stuck"]
    change = staff_client.get(reverse("admin:copytrading_copytrade_change", args=[row.pk])).content.decode()
    url = reverse("admin:copytrade_expire", args=[row.pk])
    assert url in change
    assert staff_client.get(url).status_code == 200
    staff_client.post(url, {"reason": "by hand"})
    row.refresh_from_db()
    assert (row.status, row.reason_detail) == (CopyTrade.Status.EXPIRED, "expired by staff: by hand")


def test_staff_who_may_only_view_are_not_offered_the_actions(viewer_client: Client, mix: dict[str, CopyTrade]) -> None:
    page = viewer_client.get(CHANGELIST).content.decode()
    assert 'value="expire"' not in page
    assert 'value="reconcile_now"' not in page
    viewer_client.post(reverse("admin:copytrade_expire", args=[mix["stuck"].pk]), {"reason": "x"})
    assert CopyTrade.objects.get(pk=mix["stuck"].pk).status == CopyTrade.Status.PENDING


def test_reconcile_now_asks_the_venue_through_the_reconciler(staff_client: Client, speed_unknown: CopyTrade) -> None:
    page = staff_client.post(
        CHANGELIST, {"action": "reconcile_now", "_selected_action": [str(speed_unknown.pk)], "index": "0"}, follow=True
    ).content.decode()
    # It reports what it found: the venue does not know the order yet, so the row is still unknown.
    assert f"Asked the venue about 1 order(s): copy {str(speed_unknown.code)[:8]}…: still unknown." in page
    speed_unknown.refresh_from_db()
    assert speed_unknown.not_found_count == 1  # the reconciler's rule: not found once, look again later


def test_the_per_row_reconcile_button_uses_the_same_service(staff_client: Client, speed_unknown: CopyTrade) -> None:
    staff_client.post(reverse("admin:copytrade_reconcile", args=[speed_unknown.pk]))
    speed_unknown.refresh_from_db()
    assert speed_unknown.not_found_count == 1


def test_show_venue_order_reports_what_the_venue_says(staff_client: Client, speed_unknown: CopyTrade) -> None:
    response = staff_client.post(
        CHANGELIST, {"action": "show_venue_order", "_selected_action": [str(speed_unknown.pk)], "index": "0"}
    )
    assert response["Location"] == reverse("admin:copytrade_venue_order", args=[speed_unknown.pk])
    page = staff_client.get(response["Location"]).content.decode()
    assert 'data-kind="not_found"' in page


def test_show_venue_order_needs_the_change_permission_and_is_audited(
    staff_client: Client, viewer_client: Client, speed_unknown: CopyTrade
) -> None:
    url = reverse("admin:copytrade_venue_order", args=[speed_unknown.pk])
    assert viewer_client.get(url).status_code == 403
    assert not AuditEvent.objects.filter(action="copytrade.show_venue_order").exists()
    assert staff_client.get(url).status_code == 200
    (event,) = AuditEvent.objects.filter(action="copytrade.show_venue_order")
    assert (event.target_id, event.after) == (str(speed_unknown.pk), {"answer": "not_found"})


def test_the_list_and_the_row_show_leader_market_and_units(staff_client: Client, mix: dict[str, CopyTrade]) -> None:
    CopyTrade.objects.filter(pk=mix["stuck"].pk).update(planned_usdc=Decimal("12.5"), planned_price=Decimal("0.57"))
    page = staff_client.get(CHANGELIST).content.decode()
    assert "Leader" in page
    assert ">Market<" in page  # named by the market once known: "token 713210…2563" until then
    assert "token 713210…2563" in page
    assert "12.50 pUSD" in page
    row = staff_client.get(reverse("admin:copytrading_copytrade_change", args=[mix["stuck"].pk])).content.decode()
    assert "0.5700 pUSD/share" in row
    assert "12.50 pUSD" in row
    assert "0.00 shares" in row


def test_show_venue_order_of_a_paper_copy_says_there_is_none(staff_client: Client, mix: dict[str, CopyTrade]) -> None:
    page = staff_client.get(reverse("admin:copytrade_venue_order", args=[mix["unknown"].pk])).content.decode()
    assert "A paper copy" in page


@pytest.mark.parametrize("view", ["copytrade_reconcile", "copytrade_expire", "copytrade_venue_order"])
def test_the_row_operations_are_for_staff_only(
    follower_client: Client, client: Client, mix: dict[str, CopyTrade], view: str
) -> None:
    url = reverse(f"admin:{view}", args=[mix["stuck"].pk])
    for who in (follower_client, client):
        for response in (who.get(url), who.post(url, {"reason": "x"})):
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))
    assert CopyTrade.objects.get(pk=mix["stuck"].pk).status == CopyTrade.Status.PENDING


def test_staff_who_may_only_view_cannot_reconcile_a_row(viewer_client: Client, speed_unknown: CopyTrade) -> None:
    viewer_client.post(reverse("admin:copytrade_reconcile", args=[speed_unknown.pk]))
    speed_unknown.refresh_from_db()
    assert speed_unknown.not_found_count == 0
