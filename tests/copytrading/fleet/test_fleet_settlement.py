"""Fleet copies end to end on the local chain: the operator wallet buys on the simulated venue
(matched on chain), the fill is confirmed, the shares go to the follower and the float comes back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Position
from copytrading.outcomes import follower_words
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.fleet_settle import debt_recover, fleet_settle
from copytrading.pipeline.settle import settle_due
from copytrading.reasons import Reason
from execution.fleet.models import ChainTransaction, DebtRecord, OperatorWallet
from execution.fleet.transactions import tracked_step
from execution.models import GuardrailSettings
from tests.copytrading.fleet.conftest import FleetWorld
from tests.copytrading.reliability.invariants import i6_fleet_fills_settled_or_owed
from tests.factories import make_leader_trade


def i6() -> list[str]:
    return [finding.message for finding in i6_fleet_fills_settled_or_owed(list(CopyTrade.objects.order_by("id")))]


# Settlement commits each transaction's row before sending it: real transactions, not a test's.
pytestmark = [pytest.mark.fleet, pytest.mark.django_db(transaction=True)]
UNIT = Decimal(10) ** 6


def place_and_confirm(world: FleetWorld, row: CopyTrade) -> CopyTrade:
    copytrades_execute(ids=[row.id], deployment=world.deployment)
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.FILLED, (row.status, row.reason_code, row.reason_detail)
    world.sim.advance_trades(to="CONFIRMED")
    settle_due(deployment=world.deployment, now=timezone.now() + timedelta(minutes=1))
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.SETTLEMENT_PENDING
    return row


def test_a_fleet_buy_gives_the_follower_the_shares_and_repays_the_float_exactly(fleet_world: FleetWorld) -> None:
    account, owner = fleet_world.follower(pusd="100")
    row = fleet_world.copy(account)
    wallet_before = {w.address: fleet_world.pusd(w.address) for w in fleet_world.wallets}
    row = place_and_confirm(fleet_world, row)
    assert row.operator_wallet is not None
    operator = row.operator_wallet
    assert row.signed_order is not None
    assert row.signed_order["api_address"].lower() == operator.address  # type 0, signed by the operator
    assert not Position.objects.filter(account=account).exists()  # nothing credited before settlement

    assert fleet_settle(row.id) == "settled"
    row.refresh_from_db()
    owed = row.fill_usdc + row.fee_usdc
    assert row.status == CopyTrade.Status.SETTLED
    assert follower_words(row) == "filled; the shares are in your wallet and PolyHunter was paid back"
    assert row.size_matched > 0
    assert owed > row.fill_usdc  # a taker fee was paid, and is repaid
    assert fleet_world.shares(owner.address, int(row.token_id)) == row.size_matched * UNIT
    assert fleet_world.shares(operator.address, int(row.token_id)) == 0
    assert fleet_world.pusd(owner.address) == (Decimal(100) - owed) * UNIT
    assert fleet_world.pusd(operator.address) == wallet_before[operator.address]  # float back, exactly
    position = Position.objects.get(account=account, token_id=row.token_id)
    assert position.shares == row.size_matched
    assert fleet_settle(row.id) == "noop"  # again: nothing moves twice
    assert fleet_world.pusd(owner.address) == (Decimal(100) - owed) * UNIT
    assert OperatorWallet.objects.get(pk=operator.pk).lease_holder == ""
    assert i6() == []


def test_a_revoked_allowance_is_one_debt_stops_copies_and_is_collected_once(
    fleet_world: FleetWorld, client: Client
) -> None:
    account, owner = fleet_world.follower(pusd="100")
    row = place_and_confirm(fleet_world, fleet_world.copy(account))
    fleet_world.tools.approve(owner, pusd=Decimal(0))  # the follower revokes the allowance
    assert fleet_settle(row.id) == "debt"
    assert fleet_settle(row.id) == "noop"
    assert i6() == []  # a DEBT with its record, and the open debt is exactly what the chain lacks
    row.refresh_from_db()
    debt = DebtRecord.objects.get(copy_trade_id=row.id)
    assert (row.status, row.reason_code) == (CopyTrade.Status.DEBT, Reason.REIMBURSEMENT_OWED)
    assert "paying PolyHunter back failed" in follower_words(row)
    assert (debt.cause, debt.amount_usdc, debt.state) == ("allowance", row.fill_usdc + row.fee_usdc, "open")
    assert fleet_world.shares(owner.address, int(row.token_id)) == row.size_matched * UNIT

    assert GuardrailSettings.current().fleet_debt_threshold_usdc == 0
    blocked = fleet_world.copy(account)
    copytrades_execute(ids=[blocked.id], deployment=fleet_world.deployment)
    blocked.refresh_from_db()
    assert (blocked.status, blocked.reason_code) == (CopyTrade.Status.SKIPPED, Reason.DEBT_OUTSTANDING)

    client.force_login(account.user)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert f"You owe {debt.amount_usdc} pUSD" in dashboard
    assert "the allowance to the settlement contract is too low" in dashboard
    custody = client.get(reverse("custody_account", kwargs={"code": account.code})).content.decode()
    assert 'data-state="missing"' in custody
    assert fleet_world.settlement in custody

    assert debt_recover(debt.id) == "failed"  # still no allowance: backed off, not lost
    debt.refresh_from_db()
    assert (debt.state, debt.attempts) == ("open", 1)
    fleet_world.tools.approve(owner, pusd=Decimal(100))
    before = fleet_world.pusd(owner.address)
    assert debt_recover(debt.id) == "collected"
    assert debt_recover(debt.id) == "noop"
    assert before - fleet_world.pusd(owner.address) == debt.amount_usdc * UNIT  # exactly once
    debt.refresh_from_db()
    assert debt.state == DebtRecord.State.COLLECTED
    assert DebtRecord.objects.filter(account=account).count() == 1
    assert i6() == []


def test_a_reimbursement_sent_but_not_mined_is_read_back_not_sent_again(
    fleet_world: FleetWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's wait ends before the node mines (a node not mining, or a worker killed after
    sending): the next run finds the recorded transaction, and the copy is settled once."""
    account, owner = fleet_world.follower(pusd="100")
    row = place_and_confirm(fleet_world, fleet_world.copy(account))
    w3 = fleet_world.chain.w3
    assert w3 is not None
    monkeypatch.setattr("copytrading.pipeline.fleet_settle.MINE_WAIT_S", 0.2)
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        assert fleet_settle(row.id) == "waiting"
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert tracked_step(copy_id=row.id, purpose="push") is not None
    for _ in range(3):
        fleet_settle(row.id)
        row.refresh_from_db()
    assert row.status == CopyTrade.Status.SETTLED
    owed = row.fill_usdc + row.fee_usdc
    assert fleet_world.pusd(owner.address) == (Decimal(100) - owed) * UNIT
    sent = ChainTransaction.objects.filter(copy_id=row.id)
    assert sorted(sent.values_list("purpose", flat=True)) == ["push", "reimburse"]  # one of each, never resent
    assert len(set(sent.values_list("nonce", flat=True))) == 2
    assert i6() == []


def test_followers_sharing_one_operator_wallet_take_turns_and_never_share_a_nonce(fleet_world: FleetWorld) -> None:
    OperatorWallet.objects.exclude(pk=fleet_world.wallets[0].pk).update(state=OperatorWallet.State.DISABLED)
    (first, _), (second, _) = fleet_world.follower(), fleet_world.follower()
    one = place_and_confirm(fleet_world, fleet_world.copy(first))
    busy = fleet_world.copy(second)
    copytrades_execute(ids=[busy.id], deployment=fleet_world.deployment)
    busy.refresh_from_db()
    # No wallet free: the copy waits (handed back, asked again shortly), it is not skipped.
    assert (busy.status, busy.reason_code, busy.operator_wallet_id) == (CopyTrade.Status.PENDING, "", None)
    assert busy.reason_detail == "waiting for a free operator wallet: every operator wallet is busy with another copy"
    assert busy.next_check_at is not None
    assert busy.next_check_at > timezone.now()
    assert fleet_settle(one.id) == "settled"
    two = place_and_confirm(fleet_world, busy)  # the wallet is back: the copy that waited takes it
    assert two.operator_wallet_id == one.operator_wallet_id
    assert fleet_settle(two.id) == "settled"
    nonces = list(ChainTransaction.objects.filter(copy_id__in=[one.id, two.id]).values_list("nonce", flat=True))
    assert len(nonces) == 4
    assert len(set(nonces)) == 4
    assert i6() == []


def test_a_copy_waits_for_a_wallet_only_while_the_leader_trade_is_fresh(fleet_world: FleetWorld) -> None:
    OperatorWallet.objects.exclude(pk=fleet_world.wallets[0].pk).update(state=OperatorWallet.State.DISABLED)
    (first, _), (second, _) = fleet_world.follower(), fleet_world.follower()
    one = place_and_confirm(fleet_world, fleet_world.copy(first))
    late = fleet_world.copy(second)
    max_age = GuardrailSettings.current().max_leader_trade_age_seconds
    # Waited until the next ask would come after the leader's trade is too old to copy.
    assert late.leader_trade is not None
    late.leader_trade.occurred_at = timezone.now() - timedelta(seconds=max_age - 1)
    late.leader_trade.save(update_fields=["occurred_at"])
    copytrades_execute(ids=[late.id], deployment=fleet_world.deployment)
    late.refresh_from_db()
    assert (late.status, late.reason_code) == (CopyTrade.Status.SKIPPED, Reason.NO_OPERATOR_WALLET)
    assert late.reason_detail.startswith("after waiting ")
    assert follower_words(late).startswith("skipped: no PolyHunter trading wallet was free to place it (after waiting")
    assert "every operator wallet is busy with another copy" in late.reason_detail
    # No active wallet at all: nothing to wait for, skipped at once.
    OperatorWallet.objects.update(state=OperatorWallet.State.DISABLED)
    none = fleet_world.copy(second)
    copytrades_execute(ids=[none.id], deployment=fleet_world.deployment)
    none.refresh_from_db()
    assert (none.status, none.reason_code) == (CopyTrade.Status.SKIPPED, Reason.NO_OPERATOR_WALLET)
    assert none.reason_detail == "no operator wallet is taking copies right now"
    assert fleet_settle(one.id) == "settled"
    assert i6() == []


def test_copying_waits_for_the_allowance_to_be_granted(fleet_world: FleetWorld) -> None:
    account, _ = fleet_world.follower(pusd="100", allowance=None)
    row = fleet_world.copy(account)
    copytrades_execute(ids=[row.id], deployment=fleet_world.deployment)
    row.refresh_from_db()
    assert (row.status, row.reason_code) == (CopyTrade.Status.BLOCKED, Reason.CUSTODY_NOT_READY)
    assert row.operator_wallet_id is None  # no wallet was checked out, nothing placed
    assert not OperatorWallet.objects.exclude(lease_holder="").exists()


def test_i6_catches_a_fleet_fill_left_unsettled_and_a_debt_without_its_record(fleet_world: FleetWorld) -> None:
    account, _ = fleet_world.follower(pusd="100")
    row = place_and_confirm(fleet_world, fleet_world.copy(account))
    assert any("ended settlement_pending" in message for message in i6())
    CopyTrade.objects.filter(pk=row.pk).update(status=CopyTrade.Status.DEBT)
    found = i6()
    assert any("DEBT without a DebtRecord" in message for message in found)
    assert any("open debts 0 pUSD" in message for message in found)


def test_a_node_that_cannot_be_reached_mid_settlement_defers_it_and_it_settles_once_back(
    fleet_world: FleetWorld,
) -> None:
    account, owner = fleet_world.follower(pusd="100")
    row = place_and_confirm(fleet_world, fleet_world.copy(account))
    with override_settings(POLYGON_RPC_URL="http://127.0.0.1:9"):  # nothing listens there
        assert fleet_settle(row.id) == "waiting"
    row.refresh_from_db()
    assert (row.status, row.settle_attempts) == (CopyTrade.Status.SETTLEMENT_PENDING, 1)
    assert "chain error" in row.reason_detail
    assert row.next_check_at is not None
    assert row.next_check_at > timezone.now()  # backed off, not hammered
    assert fleet_settle(row.id) == "settled"
    owed = row.fill_usdc + row.fee_usdc
    assert fleet_world.pusd(owner.address) == (Decimal(100) - owed) * UNIT
    assert i6() == []


def test_a_settled_fleet_buy_counts_against_the_follows_daily_cap(fleet_world: FleetWorld) -> None:
    """Caps count a fleet fill at cost while it settles and once settled (not only CONFIRMED)."""
    account, _ = fleet_world.follower(pusd="100")
    first = place_and_confirm(fleet_world, fleet_world.copy(account, daily_cap_usdc=Decimal(15)))
    second_trade = make_leader_trade(leader=first.relationship.leader, price=Decimal("0.56"))
    (second_id,) = fanout_leader_trade(leader_trade_id=second_trade.id, deployment=fleet_world.deployment).pending_ids
    copytrades_execute(ids=[second_id], deployment=fleet_world.deployment)
    second = CopyTrade.objects.get(pk=second_id)
    assert (second.status, second.reason_code) == (CopyTrade.Status.BLOCKED, Reason.DAILY_CAP)  # while settling
    assert fleet_settle(first.id) == "settled"
    third_trade = make_leader_trade(leader=first.relationship.leader, price=Decimal("0.56"))
    (third_id,) = fanout_leader_trade(leader_trade_id=third_trade.id, deployment=fleet_world.deployment).pending_ids
    copytrades_execute(ids=[third_id], deployment=fleet_world.deployment)
    third = CopyTrade.objects.get(pk=third_id)
    assert (third.status, third.reason_code) == (CopyTrade.Status.BLOCKED, Reason.DAILY_CAP)  # and once settled
