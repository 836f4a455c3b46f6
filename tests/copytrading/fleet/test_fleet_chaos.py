"""Fleet settlement under faults, on the local chain and real PostgreSQL: a worker SIGKILLed between
sending the reimbursement and recording it, and a reimbursement stuck in the node's pool (fees too
low) that the monitor replaces at its nonce. Each copy is settled exactly once: the contract shows it
settled, the follower paid fill + fee once, one mined reimbursement recorded, I6 holds."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.conf import settings

from copytrading.models import CopyTrade
from copytrading.pipeline.fleet_settle import fleet_settle
from execution.fleet.models import ChainTransaction, OperatorWallet
from execution.fleet.onchain import is_settled
from execution.fleet.transactions import bumped
from execution.fleet.wallets import STUCK_AFTER_BLOCKS, fleet_monitor
from execution.simulator.chain.node import AnvilNode
from tests.copytrading.fleet.conftest import FleetWorld
from tests.copytrading.fleet.test_fleet_settlement import i6, place_and_confirm
from tests.copytrading.reliability.harness import WorkerProcess, wait_for
from tests.execution.fleet.conftest import FLEET_MNEMONIC

pytestmark = [pytest.mark.fleet, pytest.mark.django_db(transaction=True)]
UNIT = Decimal(10) ** 6
State = ChainTransaction.State


def worker_env() -> dict[str, str]:
    """The fleet settings of the test (overridden in-process) as the environment of a worker process."""
    return {
        "TRADING_MNEMONIC": FLEET_MNEMONIC,
        "FLEET_SIZE": str(settings.FLEET_SIZE),
        "FLEET_SETTLEMENT_ADDRESS": settings.FLEET_SETTLEMENT_ADDRESS,
        "FLEET_PUSD_ADDRESS": settings.FLEET_PUSD_ADDRESS,
        "FLEET_CTF_ADDRESS": settings.FLEET_CTF_ADDRESS,
        "POLYGON_RPC_URL": settings.POLYGON_RPC_URL,
    }


def mine(node: AnvilNode, blocks: int = 1, *, base_fee: int | None = None) -> None:
    for _ in range(blocks):
        if base_fee is not None:
            node.rpc("anvil_setNextBlockBaseFeePerGas", [hex(base_fee)])
        node.rpc("evm_mine")


@pytest.fixture
def manual_mining(fleet_world: FleetWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[AnvilNode]:
    """The node, its automine back on after the test (evm_revert restores state, not the mining
    mode), and a settlement run that waits a moment, not 30 s, for a receipt."""
    monkeypatch.setattr("copytrading.pipeline.fleet_settle.MINE_WAIT_S", 0.2)
    node = fleet_world.chain.node
    yield node
    node.rpc("evm_setAutomine", [True])
    # Nothing left in the pool across the chain fixture's evm_revert (the pool survives it, and a
    # pooled transaction of a reverted nonce would hold later senders of that account back).
    node.rpc("evm_mine")
    node.rpc("anvil_dropAllTransactions")


def assert_settled_once(world: FleetWorld, row: CopyTrade, *, follower: str, operator_float: Decimal) -> None:
    fleet_monitor()  # what the fleet tick runs next: the receipts recorded on the transactions' rows
    row.refresh_from_db()
    owed = row.fill_usdc + row.fee_usdc
    assert row.status == CopyTrade.Status.SETTLED, (row.status, row.reason_detail)
    assert row.operator_wallet is not None
    assert world.chain.w3 is not None
    assert is_settled(w3=world.chain.w3, settlement=world.settlement, copy_id=row.id)
    assert world.pusd(follower) == (Decimal(100) - owed) * UNIT  # charged fill + fee, once
    assert world.pusd(row.operator_wallet.address) == operator_float  # the float back, once
    assert world.shares(follower, int(row.token_id)) == row.size_matched * UNIT
    reimbursements = ChainTransaction.objects.filter(copy_id=row.id, purpose=ChainTransaction.Purpose.REIMBURSE)
    assert reimbursements.filter(state=State.MINED).count() == 1
    assert not reimbursements.filter(state=State.SENT).exists()
    assert OperatorWallet.objects.get(pk=row.operator_wallet.pk).lease_holder == ""
    assert fleet_settle(row.id) == "noop"
    assert i6() == []


@pytest.mark.parametrize("mined_before_the_kill", [True, False], ids=["mined", "in-the-pool"])
def test_a_worker_killed_after_sending_the_reimbursement_and_before_recording_it_settles_once(
    fleet_world: FleetWorld, manual_mining: AnvilNode, mined_before_the_kill: bool
) -> None:
    account, owner = fleet_world.follower(pusd="100")
    float_before = {w.address: fleet_world.pusd(w.address) for w in fleet_world.wallets}
    row = place_and_confirm(fleet_world, fleet_world.copy(account))
    assert fleet_world.chain.w3 is not None
    if not mined_before_the_kill:
        manual_mining.rpc("evm_setAutomine", [False])
    worker = WorkerProcess(
        ["settle", str(row.id), "--stop-after-send", "reimburse"], venue_url=fleet_world.sim.url, env=worker_env()
    )
    try:
        if not mined_before_the_kill:  # the worker waits for its share transfer: mine it
            push = ChainTransaction.objects.filter(copy_id=row.id, purpose=ChainTransaction.Purpose.PUSH)
            # In the node's pool, not only recorded (the row is committed before the broadcast).
            wait_for(
                lambda: push.exists() and manual_mining.rpc("eth_getTransactionByHash", [push.get().tx_hash]),
                timeout=120,
                what="the worker's share transfer in the node's pool",
            )
            mine(manual_mining)
        sent_hash = worker.expect("AFTER_SEND", timeout=120)
        worker.kill_group()  # SIGKILL: no cleanup, no receipt read, nothing recorded on the copy
        worker.popen.wait(timeout=30)
    finally:
        worker.kill_group()
    assert worker.popen.returncode == -signal.SIGKILL
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.SETTLEMENT_PENDING  # the copy does not know it was paid
    sent = ChainTransaction.objects.get(copy_id=row.id, purpose=ChainTransaction.Purpose.REIMBURSE)
    assert (sent.tx_hash, sent.state) == (sent_hash, State.SENT)
    if mined_before_the_kill:  # automine mines just after the send returns: wait for it
        fleet_world.chain.w3.eth.wait_for_transaction_receipt(sent_hash)  # type: ignore[arg-type]
    paid = is_settled(w3=fleet_world.chain.w3, settlement=fleet_world.settlement, copy_id=row.id)
    assert paid is mined_before_the_kill

    if not mined_before_the_kill:
        assert fleet_settle(row.id) == "waiting"  # the next run waits for that one, signs nothing
        assert ChainTransaction.objects.filter(copy_id=row.id, purpose="reimburse").count() == 1
        mine(manual_mining)
    assert fleet_settle(row.id) == "settled"  # the next run (the settle tick) reads it back
    assert row.operator_wallet is not None
    assert_settled_once(
        fleet_world, row, follower=owner.address, operator_float=float_before[row.operator_wallet.address]
    )
    # One of each: the reimbursement was read back, never signed again.
    assert sorted(ChainTransaction.objects.filter(copy_id=row.id).values_list("purpose", "state")) == [
        ("push", State.MINED),
        ("reimburse", State.MINED),
    ]


def test_a_stuck_reimbursement_is_replaced_at_its_nonce_and_the_copy_settles_once(
    fleet_world: FleetWorld, manual_mining: AnvilNode
) -> None:
    account, owner = fleet_world.follower(pusd="100")
    float_before = {w.address: fleet_world.pusd(w.address) for w in fleet_world.wallets}
    row = place_and_confirm(fleet_world, fleet_world.copy(account))
    manual_mining.rpc("evm_setAutomine", [False])  # from here on, blocks only by evm_mine
    assert fleet_settle(row.id) == "waiting"  # the share transfer sent, not mined yet
    mine(manual_mining)
    assert fleet_settle(row.id) == "waiting"  # the shares arrived; the reimbursement sent, not mined
    first = ChainTransaction.objects.get(copy_id=row.id, purpose=ChainTransaction.Purpose.REIMBURSE)
    # Fees spike after it was sent: the node keeps mining blocks, and never this transaction.
    mine(manual_mining, STUCK_AFTER_BLOCKS, base_fee=first.max_fee_per_gas * 4)
    assert fleet_settle(row.id) == "waiting"  # a settlement run never signs a second one itself
    assert ChainTransaction.objects.filter(copy_id=row.id, purpose="reimburse").count() == 1

    report = fleet_monitor()
    assert report.replaced == 1
    first.refresh_from_db()
    second = ChainTransaction.objects.get(copy_id=row.id, purpose="reimburse", state=State.SENT)
    assert first.state == State.REPLACED
    assert (second.nonce, bytes(second.call_data)) == (first.nonce, bytes(first.call_data))
    assert second.max_fee_per_gas >= bumped(first.max_fee_per_gas)
    mine(manual_mining)
    assert fleet_monitor().mined >= 1
    assert fleet_settle(row.id) == "settled"
    assert row.operator_wallet is not None
    assert_settled_once(
        fleet_world, row, follower=owner.address, operator_float=float_before[row.operator_wallet.address]
    )
    reimbursements = ChainTransaction.objects.filter(copy_id=row.id, purpose="reimburse").order_by("pk")
    assert [(r.nonce, r.state) for r in reimbursements] == [(first.nonce, State.REPLACED), (first.nonce, State.MINED)]
