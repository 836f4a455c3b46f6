"""What staff see of the tracked transactions: the read-only admin with its filters, and /metrics."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import User
from execution.fleet.models import ChainTransaction
from tests.ops.conftest import Scrape, scrape

__all__ = ["scrape"]

pytestmark = [pytest.mark.fleet, pytest.mark.django_db]
State = ChainTransaction.State
WALLET = "0x" + "ab" * 20
_hashes = count(1)


def tracked(
    *, nonce: int, state: str, minutes_ago: int = 0, replaced_by: ChainTransaction | None = None
) -> ChainTransaction:
    """A row as send_tracked and the monitor leave it (their chain behaviour is tested in test_transactions)."""
    return ChainTransaction.objects.create(
        wallet=WALLET,
        nonce=nonce,
        purpose=ChainTransaction.Purpose.REIMBURSE,
        copy_id=None,
        to_address="0x" + "cd" * 20,
        call_data=b"\x01",
        gas=150_000,
        tx_hash=f"0x{next(_hashes):064x}",
        raw_tx=b"\x02\xf8",
        max_fee_per_gas=3 * 10**9,
        max_priority_fee_per_gas=10**9,
        sent_at=timezone.now() - timedelta(minutes=minutes_ago),
        sent_block=1,
        state=state,
        replaced_by=replaced_by,
    )


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root"))
    return client


def listed(staff: Client, query: str) -> set[int]:
    response = staff.get(f"/admin/execution/chaintransaction/?{query}")
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def test_staff_filter_stuck_and_replaced_transactions(staff: Client) -> None:
    stuck = tracked(nonce=0, state=State.SENT, minutes_ago=10)
    fresh = tracked(nonce=1, state=State.SENT)
    replacement = tracked(nonce=2, state=State.MINED, minutes_ago=20)
    replaced = tracked(nonce=2, state=State.REPLACED, minutes_ago=30, replaced_by=replacement)

    assert listed(staff, "stuck=yes") == {stuck.pk}
    assert listed(staff, "replacements=yes") == {replaced.pk, replacement.pk}
    assert listed(staff, "") == {stuck.pk, fresh.pk, replacement.pk, replaced.pk}
    page = staff.get(f"/admin/execution/chaintransaction/{replaced.pk}/change/")
    assert page.status_code == 200
    assert b"0x02f8" in page.content
    assert staff.get("/admin/execution/chaintransaction/add/").status_code == 403


def test_transaction_states_and_the_oldest_unmined_age_are_scraped(scrape: Scrape) -> None:
    with time_machine.travel(timezone.now(), tick=False):
        tracked(nonce=0, state=State.SENT, minutes_ago=7)
        tracked(nonce=1, state=State.SENT, minutes_ago=1)
        tracked(nonce=2, state=State.DROPPED)
        tracked(nonce=3, state=State.MINED, minutes_ago=60 * 25)  # outside the day's counts

        assert scrape("polyhunter_fleet_transactions", state="sent") == 2
        assert scrape("polyhunter_fleet_transactions", state="dropped") == 1
        assert scrape("polyhunter_fleet_transactions", state="mined") == 0
        assert scrape("polyhunter_fleet_transactions_oldest_unmined_age_seconds") == 7 * 60
