"""Followers read what happened in plain words; the raw venue and transport detail is for staff.

Failed before issue #14: a follower read ``outcome unknown: transport error (lookup: http_500 …)``
and a paper fill read "confirmed on chain"."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from copytrading.models import CopyTrade
from copytrading.outcomes import follower_words, staff_words
from tests.factories import make_account, make_copy_trade, make_relationship, make_user

pytestmark = pytest.mark.django_db

RAW = 'lookup: http_500 {"error": "Internal server error"}'


def unknown_copy() -> CopyTrade:
    follow = make_relationship(make_account(make_user("uma"), label="Main"))
    return make_copy_trade(
        follow, status="unknown", reason_code="transport_error", reason_detail=RAW, order_hash="0x" + "9" * 64
    )


def test_an_unknown_outcome_reads_as_what_we_do_about_it_not_as_the_transport_error() -> None:
    copy = unknown_copy()
    assert follower_words(copy) == (
        "the venue did not answer; we are checking whether the order went through — nothing more will be sent for it"
    )
    assert "http_500" in staff_words(copy)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"status": "confirmed", "venue_status": "paper"}, "filled (paper)"),
        ({"status": "confirmed", "venue_status": "MATCHED"}, "filled and settled on chain"),
        (
            {"status": "rejected", "reason_code": "venue_rejected", "venue_status": "not_enough_balance",
             "reason_detail": "not_enough_balance: not enough balance / allowance: 0x…"},
            "the venue refused the order: your wallet does not have enough pUSD, or the exchange is not approved"
            " to spend it",
        ),
        (
            {"status": "rejected", "reason_code": "venue_rejected", "venue_status": "invalid_signature",
             "reason_detail": "invalid_signature: invalid signature"},
            "the venue refused the order: staff can see its exact answer",
        ),
        (
            {"status": "signed", "reason_code": "retry_later:rate_limited", "reason_detail": "Too Many Requests"},
            "the venue asked us to wait; the same order will be sent again (never a second one)",
        ),
        (
            {"status": "blocked", "reason_code": "daily_cap", "reason_detail": "$50 of $50 already committed today"},
            "blocked by a guardrail: your daily cap was reached ($50 of $50 already committed today)",
        ),
        (
            {"status": "blocked", "reason_code": "venue_version", "reason_detail": "version 3 != 2 (raw)"},
            "blocked by a guardrail: the venue's order version changed; trading is halted until updated",
        ),
    ],
)  # fmt: skip
def test_each_outcome_has_plain_words_for_its_follower(fields: dict[str, Any], words: str) -> None:
    follow = make_relationship(make_account(make_user(), label="Main"))
    if fields["status"] in ("signed",):
        fields = {**fields, "order_hash": "0x" + "7" * 64}
    assert follower_words(make_copy_trade(follow, **fields)) == words


def test_the_dashboard_and_history_never_show_the_raw_detail_but_the_staff_list_does() -> None:
    copy = unknown_copy()
    client = Client()
    client.force_login(copy.account.user)
    for name in ("dashboard", "history", "dashboard_copies"):
        page = client.get(reverse(name)).content.decode()
        assert "we are checking whether the order went through" in page
        assert "http_500" not in page
    csv = b"".join(client.get(reverse("history_csv")).streaming_content).decode()  # type: ignore[attr-defined]
    assert "http_500" not in csv
    staff = make_user("stan", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_copytrade"))
    client.force_login(staff)
    assert "http_500" in client.get(reverse("admin:copytrading_copytrade_changelist")).content.decode()
