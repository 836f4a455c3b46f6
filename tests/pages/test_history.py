from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from copytrading.models import CopyTrade
from tests.factories import make_copy_trade, make_leader_trade, make_relationship
from tests.pages.conftest import Owned

pytestmark = pytest.mark.django_db


def filled(owned: Owned, *, leader_price: str, fill_price: str, side: str = "BUY") -> CopyTrade:
    trade = make_leader_trade(leader=owned.follow.leader, price=Decimal(leader_price), side=side)
    return make_copy_trade(
        owned.follow,
        leader_trade=trade,
        status=CopyTrade.Status.CONFIRMED,
        planned_price=Decimal("0.60"),
        fill_price=Decimal(fill_price),
        size_matched=Decimal(10),
        fill_usdc=Decimal(10) * Decimal(fill_price),
        order_hash="0x" + trade.tx_hash[2:],
    )


def test_it_shows_the_leader_price_next_to_the_fill_price(owner_client: Client, owned: Owned) -> None:
    filled(owned, leader_price="0.5", fill_price="0.51")
    text = owner_client.get(reverse("history")).content.decode()
    assert "0.50" in text
    assert "0.51" in text
    assert "2.0 %" in text  # filled 2 % worse than the leader


def test_it_filters_by_status_side_follow_and_date(owner_client: Client, owned: Owned) -> None:
    filled(owned, leader_price="0.5", fill_price="0.5")
    other_follow = make_relationship(owned.account)
    make_copy_trade(other_follow, status=CopyTrade.Status.BLOCKED, reason_code="daily_cap")
    url = reverse("history")
    by_status = owner_client.get(url, {"status": "blocked"}).content.decode()
    assert "your daily cap was reached" in by_status
    assert "slippage" not in by_status
    by_follow = owner_client.get(url, {"follow": str(other_follow.code)}).content.decode()
    assert other_follow.leader.address in by_follow
    assert "slippage" not in by_follow
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert "No copy trades match" in owner_client.get(url, {"since": tomorrow}).content.decode()
    assert "No copy trades match" in owner_client.get(url, {"side": "SELL"}).content.decode()


def test_bad_filter_input_shows_everything_instead_of_failing(owner_client: Client, owned: Owned) -> None:
    response = owner_client.get(reverse("history"), {"since": "not-a-date", "status": "bogus"})
    assert response.status_code == 200
    assert "slippage" in response.content.decode()


def test_it_paginates_fifty_rows_a_page(owner_client: Client, owned: Owned) -> None:
    for _ in range(55):
        make_copy_trade(owned.follow, status=CopyTrade.Status.SKIPPED, reason_code="stale")
    first = owner_client.get(reverse("history")).content.decode()
    assert "Page 1 of 2" in first
    second = owner_client.get(reverse("history"), {"page": "2", "status": "skipped"}).content.decode()
    assert "Page 2 of 2" in second
    assert second.count("<tr>") == 1 + 6  # header + the last 6 of 56 rows


def test_the_csv_export_holds_every_filtered_row_with_prices(owner_client: Client, owned: Owned) -> None:
    copy = filled(owned, leader_price="0.5", fill_price="0.49")
    response = owner_client.get(reverse("history_csv"), {"status": "confirmed"})
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="polyhunter-history-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert len(rows) == 1
    row = rows[0]
    assert row["code"] == str(copy.code)
    assert Decimal(row["leader_price"]) == Decimal("0.5")
    assert Decimal(row["fill_price"]) == Decimal("0.49")
    assert row["price_difference_percent"] == "-2.00"  # 2 % better than the leader
    assert row["explanation"] == "filled and settled on chain"
