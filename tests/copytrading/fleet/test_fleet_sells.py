"""Fleet SELL copies on the local chain: the follower's shares are pulled to the operator wallet,
sold on the simulated venue (matched on chain), and the proceeds pushed back to the follower."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from accounts.models import TradingAccount
from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, LeaderTrade, Position
from copytrading.outcomes import follower_words
from copytrading.pipeline.execute import copytrades_execute
from copytrading.pipeline.fleet import fleet_release_ended
from copytrading.pipeline.fleet_sell import pulled_shares
from copytrading.pipeline.fleet_settle import fleet_settle
from copytrading.pnl import pnl_for_accounts
from copytrading.reasons import Reason
from execution.fleet.models import ChainTransaction, OperatorWallet
from execution.simulator.chain.local import call_tx, contract, send
from tests.copytrading.fleet.conftest import FleetWorld
from tests.copytrading.fleet.test_fleet_settlement import UNIT, i6, place_and_confirm
from tests.factories import make_leader_trade

pytestmark = [pytest.mark.fleet, pytest.mark.django_db(transaction=True)]


def bought(world: FleetWorld, *, shares_approved: bool = True) -> tuple[TradingAccount, LocalAccount, CopyTrade]:
    """A follower who copied a leader's BUY through the fleet and holds the shares (settled)."""
    account, owner = world.follower(pusd="100")
    if shares_approved:
        world.tools.approve(owner, shares=True)
    buy = place_and_confirm(world, world.copy(account))
    assert fleet_settle(buy.id) == "settled"
    buy.refresh_from_db()
    return account, owner, buy


def leader_sells(world: FleetWorld, buy: CopyTrade) -> CopyTrade:
    """The leader sells everything it bought: the follow mirrors it with a full exit."""
    assert buy.leader_trade is not None
    trade = make_leader_trade(
        leader=buy.relationship.leader,
        token_id=buy.token_id,
        side="SELL",
        price=Decimal("0.56"),
        shares=buy.leader_trade.shares,
        usdc=buy.leader_trade.usdc,
    )
    (row_id,) = fanout_leader_trade(leader_trade_id=trade.id, deployment=world.deployment).pending_ids
    return CopyTrade.objects.get(id=row_id)


def test_a_fleet_sell_pulls_the_shares_sells_them_and_pays_the_proceeds_exactly(fleet_world: FleetWorld) -> None:
    account, owner, buy = bought(fleet_world)
    token = int(buy.token_id)
    held = fleet_world.shares(owner.address, token)
    assert held == buy.size_matched * UNIT
    pusd_before = fleet_world.pusd(owner.address)
    operators = {
        w.address: (fleet_world.pusd(w.address), fleet_world.shares(w.address, token)) for w in fleet_world.wallets
    }

    sell = place_and_confirm(fleet_world, leader_sells(fleet_world, buy))
    assert sell.side == CopyTrade.Side.SELL
    assert sell.operator_wallet is not None
    assert sell.signed_order is not None
    assert sell.signed_order["api_address"].lower() == sell.operator_wallet.address  # signed by the operator
    pull = ChainTransaction.objects.get(copy_id=sell.id, purpose="pull")
    assert fleet_world.chain.w3 is not None
    assert fleet_world.chain.w3.eth.get_transaction_receipt(HexBytes(pull.tx_hash))["status"] == 1  # mined, then signed
    assert sell.signed_at is not None
    assert pull.sent_at < sell.signed_at
    assert Position.objects.get(account=account, token_id=buy.token_id).shares == buy.size_matched  # not yet
    assert follower_words(sell) == "sold by PolyHunter's wallet; the proceeds are on their way to yours"

    assert fleet_settle(sell.id) == "settled"
    sell.refresh_from_db()
    proceeds = sell.fill_usdc - sell.fee_usdc
    assert sell.status == CopyTrade.Status.SETTLED
    assert sell.size_matched > 0
    assert sell.fee_usdc > 0  # a taker fee was charged, and kept out of the proceeds
    assert follower_words(sell) == "sold; the proceeds (after the fee) are in your wallet"
    assert fleet_world.shares(owner.address, token) == held - sell.size_matched * UNIT
    assert fleet_world.pusd(owner.address) == pusd_before + proceeds * UNIT
    for wallet in fleet_world.wallets:  # the operator's float and shares are back where they were
        assert (fleet_world.pusd(wallet.address), fleet_world.shares(wallet.address, token)) == operators[
            wallet.address
        ]
    position = Position.objects.get(account=account, token_id=buy.token_id)
    assert position.shares == buy.size_matched - sell.size_matched  # credited on settlement
    assert OperatorWallet.objects.get(pk=sell.operator_wallet.pk).lease_holder == ""

    curve = pnl_for_accounts(account_ids=[account.id], now=timezone.now())
    assert len(curve) == 3  # the P&L curve has the buy and the sell (both settled), and now
    assert fleet_settle(sell.id) == "noop"  # again: nothing moves twice
    assert fleet_world.pusd(owner.address) == pusd_before + proceeds * UNIT
    assert i6() == []


def test_a_fleet_sell_without_the_share_approval_is_not_placed_and_says_why(
    fleet_world: FleetWorld, client: Client
) -> None:
    account, owner, buy = bought(fleet_world, shares_approved=False)
    client.force_login(account.user)
    custody = client.get(reverse("custody_account", kwargs={"code": account.code})).content.decode()
    assert 'id="fleet-shares" data-state="missing"' in custody
    assert "not granted yet: sells are not copied" in custody
    held = fleet_world.shares(owner.address, int(buy.token_id))
    sell = leader_sells(fleet_world, buy)
    copytrades_execute(ids=[sell.id], deployment=fleet_world.deployment)
    sell.refresh_from_db()
    assert (sell.status, sell.reason_code) == (CopyTrade.Status.BLOCKED, Reason.SHARES_NOT_APPROVED)
    assert sell.signed_order is None  # nothing signed, nothing placed
    assert follower_words(sell) == (
        "blocked by a guardrail: your wallet has not let PolyHunter's settlement contract move its shares "
        "(see the custody page)"
    )
    assert not ChainTransaction.objects.filter(copy_id=sell.id).exists()
    assert fleet_world.shares(owner.address, int(buy.token_id)) == held
    assert not OperatorWallet.objects.exclude(lease_holder="").exists()  # the wallet was given back
    fleet_world.tools.approve(owner, shares=True)
    custody = client.get(reverse("custody_account", kwargs={"code": account.code})).content.decode()
    assert 'id="fleet-shares" data-state="granted"' in custody


def test_a_fleet_sell_of_shares_the_follower_no_longer_holds_is_skipped(fleet_world: FleetWorld) -> None:
    _account, owner, buy = bought(fleet_world)
    token = int(buy.token_id)
    # The follower moved the shares elsewhere after the buy (our position does not know).
    w3 = fleet_world.chain.w3
    assert w3 is not None
    ctf = contract(w3, fleet_world.chain.info, "ctf")
    elsewhere = Account.create().address
    held = int(fleet_world.shares(owner.address, token))
    send(w3, owner, call_tx(ctf, "safeTransferFrom", owner.address, elsewhere, token, held, b""))
    assert fleet_world.shares(owner.address, token) == 0
    sell = leader_sells(fleet_world, buy)
    copytrades_execute(ids=[sell.id], deployment=fleet_world.deployment)
    sell.refresh_from_db()
    assert (sell.status, sell.reason_code) == (CopyTrade.Status.SKIPPED, Reason.SHARES_NOT_PULLED)
    assert "your wallet does not hold the" in follower_words(sell)
    assert sell.signed_order is None
    assert not ChainTransaction.objects.filter(copy_id=sell.id).exists()


def test_a_retried_sell_settlement_pays_the_proceeds_once(
    fleet_world: FleetWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    _account, owner, buy = bought(fleet_world)
    sell = place_and_confirm(fleet_world, leader_sells(fleet_world, buy))
    pusd_before = fleet_world.pusd(owner.address)
    w3 = fleet_world.chain.w3
    assert w3 is not None
    monkeypatch.setattr("copytrading.pipeline.fleet_settle.MINE_WAIT_S", 0.2)
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        assert fleet_settle(sell.id) == "waiting"  # the proceeds sent, not mined: the actor retries
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    for _ in range(3):
        fleet_settle(sell.id)
    sell.refresh_from_db()
    assert sell.status == CopyTrade.Status.SETTLED
    assert fleet_world.pusd(owner.address) == pusd_before + (sell.fill_usdc - sell.fee_usdc) * UNIT
    assert ChainTransaction.objects.filter(copy_id=sell.id, purpose="proceeds").count() == 1
    assert i6() == []


def test_a_sell_that_ends_unsold_after_its_pull_gives_every_share_back(
    fleet_world: FleetWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pull is sent but not mined within the wait: the copy waits with its wallet; by its next
    try the leader's trade is too old, so nothing is sold, and the shares pulled go back."""
    _account, owner, buy = bought(fleet_world)
    token = int(buy.token_id)
    held = fleet_world.shares(owner.address, token)
    sell = leader_sells(fleet_world, buy)
    w3 = fleet_world.chain.w3
    assert w3 is not None
    monkeypatch.setattr("copytrading.pipeline.fleet_sell.PULL_WAIT_S", 0.2)
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        copytrades_execute(ids=[sell.id], deployment=fleet_world.deployment)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    sell.refresh_from_db()
    assert (sell.status, sell.signed_order) == (CopyTrade.Status.PENDING, None)  # waiting, nothing signed
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    operator = OperatorWallet.objects.get(lease_holder=f"copy:{sell.id}")  # kept while the shares are away
    pulled = pulled_shares(sell.id)
    assert 0 < pulled <= buy.size_matched  # the sale's size (the venue's lot), not the dust
    assert fleet_world.shares(operator.address, token) == pulled * UNIT
    assert fleet_world.shares(owner.address, token) == held - pulled * UNIT

    assert sell.leader_trade is not None
    LeaderTrade.objects.filter(pk=sell.leader_trade.pk).update(occurred_at=sell.signal_time - timedelta(hours=1))
    copytrades_execute(ids=[sell.id], deployment=fleet_world.deployment)
    sell.refresh_from_db()
    assert (sell.status, sell.reason_code) == (CopyTrade.Status.SKIPPED, Reason.STALE)
    assert fleet_release_ended() == 0  # not given back with the shares still at the operator
    assert fleet_settle(sell.id) == "returned"
    assert fleet_settle(sell.id) == "noop"
    assert fleet_world.shares(owner.address, token) == held  # every share back, once
    assert fleet_world.shares(operator.address, token) == 0
    assert not OperatorWallet.objects.exclude(lease_holder="").exists()
    assert Position.objects.get(relationship=buy.relationship, token_id=buy.token_id).shares == buy.size_matched
    assert i6() == []
