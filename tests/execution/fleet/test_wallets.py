from __future__ import annotations

import pytest
from django.test import Client, override_settings

from execution.fleet.models import OperatorWallet
from execution.fleet.wallets import FleetMismatch, sync_fleet, wallet_set_state
from polyhunter.models import AuditEvent
from tests.execution.fleet.conftest import FLEET_MNEMONIC

pytestmark = [pytest.mark.fleet, pytest.mark.django_db]


def test_it_creates_one_row_per_index_once(fleet_wallets: list[OperatorWallet]) -> None:
    assert [w.index for w in fleet_wallets] == [0, 1, 2]
    assert fleet_wallets[0].address == "0x9858effd232b4033e47d90003d41ec34ecaeda94"
    again = sync_fleet()
    assert (again.created, again.kept) == (0, 3)
    assert OperatorWallet.objects.count() == 3


def test_it_drains_rows_past_the_fleet_size(fleet_wallets: list[OperatorWallet]) -> None:
    with override_settings(FLEET_SIZE=2):
        assert sync_fleet().outside == 1
    assert OperatorWallet.objects.get(index=2).state == OperatorWallet.State.DRAINING


def test_it_refuses_a_changed_phrase_under_an_existing_fleet(fleet_wallets: list[OperatorWallet]) -> None:
    other = "legal winner thank year wave sausage worth useful legal winner thank yellow"
    with override_settings(TRADING_MNEMONIC_SECRET=other), pytest.raises(FleetMismatch):
        sync_fleet()
    assert OperatorWallet.objects.get(index=0).address == fleet_wallets[0].address


def test_staff_state_changes_need_a_reason_and_are_audited(fleet_wallets: list[OperatorWallet]) -> None:
    with pytest.raises(ValueError):
        wallet_set_state(wallet=fleet_wallets[1], state=OperatorWallet.State.DISABLED, reason=" ", actor="ops")
    wallet_set_state(
        wallet=fleet_wallets[1], state=OperatorWallet.State.DISABLED, reason="gas key rotated", actor="ops"
    )
    event = AuditEvent.objects.get(action="fleet.wallet_disabled")
    assert (event.reason, event.before["state"], event.after["state"]) == ("gas key rotated", "active", "disabled")


def test_the_admin_drains_a_wallet_after_asking_why(fleet_wallets: list[OperatorWallet], staff_client: Client) -> None:
    url = "/admin/execution/operatorwallet/"
    page = staff_client.get(url)
    assert page.status_code == 200
    assert fleet_wallets[0].address in page.content.decode()
    assert FLEET_MNEMONIC.split()[0] not in page.content.decode()
    pick = {"action": "draining_selected", "_selected_action": [fleet_wallets[0].pk]}
    asked = staff_client.post(url, pick)
    assert "reason" in asked.content.decode()
    assert OperatorWallet.objects.get(pk=fleet_wallets[0].pk).state == OperatorWallet.State.ACTIVE
    staff_client.post(url, {**pick, "reason": "moving float to treasury"})
    assert OperatorWallet.objects.get(pk=fleet_wallets[0].pk).state == OperatorWallet.State.DRAINING
    assert AuditEvent.objects.filter(action="fleet.wallet_draining", reason="moving float to treasury").exists()


def test_a_viewer_cannot_drain(fleet_wallets: list[OperatorWallet], viewer_client: Client) -> None:
    url = "/admin/execution/operatorwallet/"
    viewer_client.post(url, {"action": "draining_selected", "_selected_action": [fleet_wallets[0].pk], "reason": "x"})
    assert OperatorWallet.objects.get(pk=fleet_wallets[0].pk).state == OperatorWallet.State.ACTIVE


def test_staff_forgive_and_retry_debts_with_a_reason(fleet_wallets: list[OperatorWallet], staff_client: Client) -> None:
    from decimal import Decimal

    from execution.fleet.models import DebtRecord
    from tests.factories import make_account

    debt = DebtRecord.objects.create(
        account=make_account(),
        copy_trade_id=41,
        follower_address="0x" + "f0" * 20,
        operator_address=fleet_wallets[0].address,
        amount_usdc=Decimal("5.6"),
        cause=DebtRecord.Cause.ALLOWANCE,
    )
    url = "/admin/execution/debtrecord/"
    assert "5.6" in staff_client.get(url).content.decode()
    staff_client.post(url, {"action": "retry_selected", "_selected_action": [debt.pk], "reason": "follower topped up"})
    assert AuditEvent.objects.filter(action="fleet.debt_retry", reason="follower topped up").exists()
    pick = {"action": "forgive_selected", "_selected_action": [debt.pk]}
    assert "reason" in staff_client.post(url, pick).content.decode()
    assert DebtRecord.objects.get(pk=debt.pk).state == DebtRecord.State.OPEN
    staff_client.post(url, {**pick, "reason": "goodwill, ticket 12"})
    debt.refresh_from_db()
    assert (debt.state, debt.resolved_by is not None) == (DebtRecord.State.FORGIVEN, True)
    assert AuditEvent.objects.get(action="fleet.debt_forgive").reason == "goodwill, ticket 12"
