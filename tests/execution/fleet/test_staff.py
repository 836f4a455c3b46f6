"""What staff see of the fleet: the tracked transactions' read-only admin with its filters, and
/metrics (transactions, wallets and their shortages, open debts)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import User
from execution.fleet.models import ChainTransaction, DebtRecord, OperatorWallet
from execution.models import GuardrailSettings
from tests.factories import make_account
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


def test_wallets_their_shortages_and_open_debts_are_scraped(scrape: Scrape) -> None:
    limits = GuardrailSettings.current()  # largest order 500 pUSD, checkout's minimum POL

    def wallet(index: int, *, state: str, float_usdc: str | None, gas_pol: str | None) -> None:
        OperatorWallet.objects.create(
            index=index,
            address="0x" + f"{index + 1:02x}" * 20,
            state=state,
            float_usdc=None if float_usdc is None else Decimal(float_usdc),
            gas_pol=None if gas_pol is None else Decimal(gas_pol),
        )

    wallet(0, state=OperatorWallet.State.ACTIVE, float_usdc="1000", gas_pol="10")
    wallet(1, state=OperatorWallet.State.ACTIVE, float_usdc="499.99", gas_pol=str(limits.fleet_min_gas_pol))
    wallet(2, state=OperatorWallet.State.ACTIVE, float_usdc=None, gas_pol=None)  # never read: short of both
    wallet(3, state=OperatorWallet.State.DISABLED, float_usdc="0", gas_pol="0")  # disabled: not counted short
    account = make_account()
    for copy_id, (amount, state) in enumerate(
        [("10.25", DebtRecord.State.OPEN), ("4.50", DebtRecord.State.OPEN), ("99", DebtRecord.State.COLLECTED)]
    ):
        DebtRecord.objects.create(
            account=account,
            copy_trade_id=copy_id + 1,
            follower_address="0x" + "ee" * 20,
            operator_address="0x" + "01" * 20,
            amount_usdc=Decimal(amount),
            cause=DebtRecord.Cause.ALLOWANCE,
            state=state,
        )

    assert scrape("polyhunter_fleet_wallets", state="active") == 3
    assert scrape("polyhunter_fleet_wallets", state="disabled") == 1
    assert scrape("polyhunter_fleet_wallets", state="draining") == 0
    assert scrape("polyhunter_fleet_wallets_short", resource="float") == 2
    assert scrape("polyhunter_fleet_wallets_short", resource="gas") == 1
    assert scrape("polyhunter_fleet_float_pusd") == 1499.99
    assert scrape("polyhunter_fleet_debts_open") == 2
    assert scrape("polyhunter_fleet_debts_open_pusd") == 14.75
