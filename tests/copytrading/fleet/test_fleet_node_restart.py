"""The node restarted mid-settlement: a fleet copy's reimbursement sent and still in the node's pool
when the node stops; the node comes back from its dumped state (anvil_dumpState / anvil_loadState:
the chain kept, the pool lost), and the monitor and the next settlement run complete it, once.

A node of its own (the ``chain`` fixture overridden here): the session's node is never restarted."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from copytrading.models import CopyTrade
from copytrading.pipeline.fleet_settle import fleet_settle
from execution.fleet.models import ChainTransaction
from execution.fleet.onchain import is_settled
from execution.fleet.wallets import fleet_monitor
from execution.simulator.chain.local import LocalChain
from execution.simulator.chain.node import AnvilNode
from tests.copytrading.fleet.conftest import FleetWorld
from tests.copytrading.fleet.test_fleet_settlement import i6, place_and_confirm

pytestmark = [pytest.mark.fleet, pytest.mark.django_db(transaction=True)]
UNIT = Decimal(10) ** 6
State = ChainTransaction.State


@pytest.fixture
def chain() -> Iterator[LocalChain]:
    with LocalChain() as own:
        yield own


def test_the_node_restarted_mid_settlement_the_copy_settles_once(
    fleet_world: FleetWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("copytrading.pipeline.fleet_settle.MINE_WAIT_S", 0.2)
    own = fleet_world.chain
    assert own.w3 is not None
    account, owner = fleet_world.follower(pusd="100")
    float_before = {w.address: fleet_world.pusd(w.address) for w in fleet_world.wallets}
    row = place_and_confirm(fleet_world, fleet_world.copy(account))
    own.node.rpc("evm_setAutomine", [False])
    assert fleet_settle(row.id) == "waiting"  # the share transfer sent
    own.node.rpc("evm_mine")
    assert fleet_settle(row.id) == "waiting"  # the reimbursement sent, in the pool
    sent = ChainTransaction.objects.get(copy_id=row.id, purpose=ChainTransaction.Purpose.REIMBURSE)
    assert own.node.rpc("eth_getTransactionByHash", [sent.tx_hash]) is not None

    state = own.node.rpc("anvil_dumpState")
    port = own.node.port
    own.node.stop()
    assert fleet_settle(row.id) == "waiting"  # no node: deferred, nothing recorded as done
    own.node = AnvilNode(port=port).start()  # automine on again, an empty pool
    own.node.rpc("anvil_loadState", [state])
    assert own.w3.eth.get_transaction_count(own.w3.to_checksum_address(sent.wallet), "pending") == sent.nonce
    assert not is_settled(w3=own.w3, settlement=fleet_world.settlement, copy_id=row.id)
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.SETTLEMENT_PENDING

    report = fleet_monitor()  # the same bytes again (the restarted node mines them at once)
    assert report.rebroadcast >= 1
    own.w3.eth.wait_for_transaction_receipt(sent.tx_hash)  # type: ignore[arg-type]  # mined just after
    assert fleet_settle(row.id) == "settled"
    fleet_monitor()

    row.refresh_from_db()
    owed = row.fill_usdc + row.fee_usdc
    assert row.status == CopyTrade.Status.SETTLED
    assert is_settled(w3=own.w3, settlement=fleet_world.settlement, copy_id=row.id)
    assert fleet_world.pusd(owner.address) == (Decimal(100) - owed) * UNIT
    operator = row.operator_wallet
    assert operator is not None
    assert fleet_world.pusd(operator.address) == float_before[operator.address]
    assert fleet_world.shares(owner.address, int(row.token_id)) == row.size_matched * UNIT
    assert list(ChainTransaction.objects.filter(copy_id=row.id).order_by("pk").values_list("purpose", "state")) == [
        ("push", State.MINED),
        ("reimburse", State.MINED),
    ]
    sent.refresh_from_db()
    assert sent.attempts >= 1  # re-broadcast, not re-signed
    assert fleet_settle(row.id) == "noop"
    assert i6() == []
