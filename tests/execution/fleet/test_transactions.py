"""Tracked settlement transactions on a real anvil node and real PostgreSQL: nonces never shared,
stuck ones replaced, lost ones re-broadcast, dropped ones and nonce gaps found, a node restart survived."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

import pytest
from django.db import connection, transaction
from django.utils import timezone
from eth_account.signers.local import LocalAccount
from web3 import Web3

from execution.fleet.models import ChainTransaction
from execution.fleet.onchain import ContractCall, is_settled, read_wallet, reimburse_call
from execution.fleet.transactions import (
    OpenTransaction,
    bumped,
    monitor_transactions,
    send_tracked,
    tracked_step,
)
from execution.simulator.chain.local import LocalChain
from execution.simulator.chain.node import AnvilNode

from .conftest import Fleet, deploy_fleet, new_account

pytestmark = [pytest.mark.fleet, pytest.mark.django_db(transaction=True)]
State = ChainTransaction.State
STUCK_AFTER = 3


@pytest.fixture
def manual_mining(approved_fleet: Fleet) -> Iterator[AnvilNode]:
    """The node stops mining on its own (blocks only by evm_mine); automine back on afterwards
    (evm_revert restores state, not the mining mode)."""
    node = approved_fleet.chain.node
    node.rpc("evm_setAutomine", [False])
    yield node
    node.rpc("evm_setAutomine", [True])


def signer_of(*accounts: LocalAccount) -> Any:
    keyed = {a.address: a for a in accounts}
    return lambda address: keyed[address]


def reimburse(fleet: Fleet, copy_id: int, amount: str = "2", follower: LocalAccount | None = None) -> ChainTransaction:
    who = follower or fleet.follower
    call = reimburse_call(settlement=fleet.settlement, copy_id=copy_id, follower=who.address, amount=Decimal(amount))
    return send_tracked(w3=fleet.w3, account=fleet.operator, call=call, purpose="reimburse", copy_id=copy_id)


def monitor(fleet: Fleet) -> dict[str, int]:
    report = monitor_transactions(w3=fleet.w3, stuck_after_blocks=STUCK_AFTER, signer=signer_of(fleet.operator))
    return {k: v for k, v in vars(report).items() if v}


def mine(node: AnvilNode, blocks: int = 1, *, base_fee: int | None = None) -> None:
    for _ in range(blocks):
        if base_fee is not None:
            node.rpc("anvil_setNextBlockBaseFeePerGas", [hex(base_fee)])
        node.rpc("evm_mine")


def states(copy_id: int | None = None) -> list[tuple[int, str]]:
    rows = ChainTransaction.objects.order_by("pk")
    if copy_id is not None:
        rows = rows.filter(copy_id=copy_id)
    return [(r.nonce, r.state) for r in rows]


def test_a_tracked_reimbursement_is_persisted_sent_and_then_recorded_mined(fleet: Fleet) -> None:
    fleet.approve(fleet.follower, pusd=Decimal(10))
    row = reimburse(fleet, 5)

    assert row.state == State.SENT
    assert row.last_error == ""
    assert row.attempts == 1
    assert bytes(row.raw_tx)
    assert row.tx_hash.startswith("0x")
    assert row.nonce == 0
    assert monitor(fleet) == {"mined": 1}
    row.refresh_from_db()
    assert row.state == State.MINED
    assert row.block_number is not None
    assert fleet.pusd_of(fleet.operator.address) == 2_000_000
    assert monitor(fleet) == {}


def test_a_retried_step_gets_its_transaction_back_and_a_reverted_one_may_be_sent_again(fleet: Fleet) -> None:
    row = reimburse(fleet, 6)  # no allowance granted: it reverts
    assert reimburse(fleet, 6).pk == row.pk  # in flight: the same row, nothing sent
    assert monitor(fleet) == {"reverted": 1}
    assert tracked_step(copy_id=6, purpose="reimburse") == row
    assert fleet.pusd_of(fleet.operator.address) == 0

    fleet.approve(fleet.follower, pusd=Decimal(2))  # restored: the step is sent again, once
    again = reimburse(fleet, 6)
    assert again.pk != row.pk
    assert again.nonce == row.nonce + 1
    assert monitor(fleet) == {"mined": 1}
    assert reimburse(fleet, 6).pk == again.pk
    assert ChainTransaction.objects.count() == 2
    assert fleet.pusd_of(fleet.operator.address) == 2_000_000


def test_it_refuses_to_send_inside_an_open_database_transaction(fleet: Fleet) -> None:
    call = ContractCall(to=fleet.operator.address, data=b"", gas=21_000)
    with transaction.atomic(), pytest.raises(OpenTransaction):
        send_tracked(w3=fleet.w3, account=fleet.operator, call=call, purpose="sweep")
    assert not ChainTransaction.objects.exists()


def test_a_stuck_transaction_is_replaced_with_bumped_fees_and_the_copy_settles_once(
    fleet: Fleet, manual_mining: AnvilNode
) -> None:
    first = reimburse(fleet, 21)
    spike = first.max_fee_per_gas * 4  # fees spike after it was sent: it is not includable
    mine(manual_mining, STUCK_AFTER, base_fee=spike)
    assert fleet.w3.eth.get_transaction_count(fleet.operator.address, "latest") == 0

    assert monitor(fleet) == {"replaced": 1}

    first.refresh_from_db()
    second = ChainTransaction.objects.get(state=State.SENT)
    assert first.state == State.REPLACED
    assert first.replaced_by_id == second.pk
    assert (second.nonce, second.copy_id, bytes(second.call_data)) == (first.nonce, 21, bytes(first.call_data))
    assert second.max_fee_per_gas >= bumped(first.max_fee_per_gas)
    assert second.max_fee_per_gas > spike
    assert second.max_priority_fee_per_gas >= bumped(first.max_priority_fee_per_gas)
    mine(manual_mining)
    assert monitor(fleet) == {"mined": 1}
    assert states(21) == [(0, State.REPLACED), (0, State.MINED)]
    assert is_settled(w3=fleet.w3, settlement=fleet.settlement, copy_id=21)
    assert fleet.pusd_of(fleet.operator.address) == 2_000_000
    assert fleet.pusd_of(fleet.follower.address) == 98_000_000


def test_when_the_replaced_one_is_mined_after_all_it_is_the_one_recorded(
    fleet: Fleet, manual_mining: AnvilNode
) -> None:
    first = reimburse(fleet, 22)
    mine(manual_mining, STUCK_AFTER, base_fee=first.max_fee_per_gas * 4)
    assert monitor(fleet) == {"replaced": 1}
    second = ChainTransaction.objects.get(state=State.SENT)
    # Another node still had the first bytes and its block producer took them: the replacement is gone.
    manual_mining.rpc("anvil_dropTransaction", [second.tx_hash])
    mine(manual_mining, base_fee=1)  # fees fell back
    fleet.w3.eth.send_raw_transaction(bytes(first.raw_tx))
    mine(manual_mining)

    assert monitor(fleet) == {"mined": 1}
    assert states(22) == [(0, State.MINED), (0, State.REPLACED)]
    assert fleet.pusd_of(fleet.operator.address) == 2_000_000


def test_two_followers_settling_at_once_on_one_operator_wallet_never_share_a_nonce(fleet: Fleet) -> None:
    followers = [fleet.follower, new_account()]
    fleet.chain.fund(followers[1].address, pol="10", pusd="100", approve=False)
    for follower in followers:
        fleet.approve(follower, pusd=Decimal(100))
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def settle(follower: LocalAccount, first_copy: int) -> None:
        try:
            start.wait()
            for copy_id in range(first_copy, first_copy + 6):
                reimburse(fleet, copy_id, "1.5", follower)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=settle, args=(f, 100 * (i + 1))) for i, f in enumerate(followers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    nonces = sorted(ChainTransaction.objects.values_list("nonce", flat=True))
    assert nonces == list(range(12))
    assert monitor(fleet) == {"mined": 12}
    assert fleet.pusd_of(fleet.operator.address) == 18_000_000
    assert all(fleet.pusd_of(f.address) == 91_000_000 for f in followers)


def test_a_transaction_the_node_lost_is_rebroadcast_from_its_stored_bytes(
    fleet: Fleet, manual_mining: AnvilNode
) -> None:
    row = reimburse(fleet, 31)
    manual_mining.rpc("anvil_dropTransaction", [row.tx_hash])

    before = read_wallet(w3=fleet.w3, pusd=fleet.pusd, address=fleet.operator.address)
    assert (before.nonce_latest, before.nonce_pending) == (0, 0)

    assert monitor(fleet) == {"rebroadcast": 1}
    assert read_wallet(w3=fleet.w3, pusd=fleet.pusd, address=fleet.operator.address).nonce_pending == 1
    mine(manual_mining)
    assert monitor(fleet) == {"mined": 1}
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.MINED, 2)
    assert ChainTransaction.objects.count() == 1
    after = read_wallet(w3=fleet.w3, pusd=fleet.pusd, address=fleet.operator.address)
    assert (after.pusd, after.nonce_latest, after.nonce_pending) == (Decimal(2), 1, 1)
    assert 0 < after.gas_wei < before.gas_wei


def test_a_transaction_the_node_refused_after_it_was_recorded_is_sent_again_by_the_monitor(fleet: Fleet) -> None:
    fleet.approve(fleet.follower, pusd=Decimal(10))
    fleet.chain.fund(fleet.operator.address, pol="0", approve=False)  # out of gas money

    row = reimburse(fleet, 33)

    assert row.state == State.SENT
    assert "funds" in row.last_error.lower()
    assert fleet.w3.eth.get_transaction_count(fleet.operator.address, "pending") == 0
    fleet.chain.fund(fleet.operator.address, pol="1", approve=False)
    assert monitor(fleet) == {"rebroadcast": 1}
    assert monitor(fleet) == {"mined": 1}
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (State.MINED, 2, "")
    assert fleet.pusd_of(fleet.operator.address) == 2_000_000


def test_one_wallet_failing_does_not_stop_the_others(fleet: Fleet) -> None:
    fleet.approve(fleet.follower, pusd=Decimal(10))
    # Automine mines right after the send returns, not before it: a monitor pass in between finds
    # the transaction known and unmined, and leaves it SENT (this test flaked on a loaded machine).
    fleet.w3.eth.wait_for_transaction_receipt(reimburse(fleet, 34).tx_hash)  # type: ignore[arg-type]
    stranger = new_account()
    ChainTransaction.objects.create(  # a row of a wallet whose key the signer cannot give
        wallet=stranger.address,
        nonce=5,
        purpose="sweep",
        to_address=stranger.address,
        call_data=b"",
        gas=21_000,
        tx_hash="0x" + "77" * 32,
        raw_tx=b"\x02",
        max_fee_per_gas=1,
        max_priority_fee_per_gas=1,
        sent_at=timezone.now(),
        sent_block=0,
    )
    assert monitor(fleet) == {"mined": 1, "errors": 1}


def test_a_dropped_transaction_whose_nonce_another_one_used_is_marked_dropped(
    fleet: Fleet, manual_mining: AnvilNode
) -> None:
    row = reimburse(fleet, 32)
    manual_mining.rpc("anvil_dropTransaction", [row.tx_hash])
    untracked = fleet.operator.sign_transaction(
        cast(Any, {**_self_transfer(fleet, fleet.operator), "nonce": row.nonce})
    )
    fleet.w3.eth.send_raw_transaction(untracked.raw_transaction)
    mine(manual_mining)

    assert monitor(fleet) == {"dropped": 1}
    assert states() == [(0, State.DROPPED)]
    assert not is_settled(w3=fleet.w3, settlement=fleet.settlement, copy_id=32)  # the caller settles it again
    assert fleet.pusd_of(fleet.operator.address) == 0


def test_a_nonce_gap_below_a_tracked_transaction_is_filled(fleet: Fleet, manual_mining: AnvilNode) -> None:
    # An untracked transaction at nonce 0 (sent outside the tracker), then lost by the node.
    untracked = fleet.operator.sign_transaction(cast(Any, {**_self_transfer(fleet, fleet.operator), "nonce": 0}))
    fleet.w3.eth.send_raw_transaction(untracked.raw_transaction)
    row = reimburse(fleet, 41)
    assert row.nonce == 1
    manual_mining.rpc("anvil_dropTransaction", ["0x" + bytes(untracked.hash).hex()])
    mine(manual_mining)
    assert fleet.w3.eth.get_transaction_count(fleet.operator.address, "latest") == 0  # nonce 1 waits for 0

    # anvil_dropTransaction also drops what waits on the dropped nonce: nonce 1 is sent again.
    assert monitor(fleet) == {"rebroadcast": 1, "gap_filled": 1}
    mine(manual_mining)
    assert monitor(fleet) == {"mined": 2}
    assert sorted(ChainTransaction.objects.values_list("nonce", "purpose", "state")) == [
        (0, "gap_fill", State.MINED),
        (1, "reimburse", State.MINED),
    ]
    assert is_settled(w3=fleet.w3, settlement=fleet.settlement, copy_id=41)


def test_missing_tracked_nonces_are_rebroadcast_not_filled(fleet: Fleet, manual_mining: AnvilNode) -> None:
    low, high = reimburse(fleet, 42), reimburse(fleet, 43)
    manual_mining.rpc("anvil_dropTransaction", [low.tx_hash])  # and `high`, which waited on it

    assert monitor(fleet) == {"rebroadcast": 2}
    mine(manual_mining)
    assert monitor(fleet) == {"mined": 2}
    assert [r.nonce for r in (low, high)] == [0, 1]
    assert ChainTransaction.objects.count() == 2
    assert fleet.pusd_of(fleet.operator.address) == 4_000_000


def _self_transfer(fleet: Fleet, account: LocalAccount) -> dict[str, Any]:
    fee = int(fleet.w3.eth.get_block("latest")["baseFeePerGas"]) * 2 + 10**9
    return {
        "type": 2,
        "chainId": fleet.w3.eth.chain_id,
        "to": account.address,
        "value": 0,
        "gas": 21_000,
        "maxFeePerGas": fee,
        "maxPriorityFeePerGas": 10**9,
    }


def test_the_node_restarted_mid_settlement_the_monitor_completes_it_once() -> None:
    """A node of its own: stopped after the reimbursement was sent (still in its pool), started again
    from its dumped state (anvil_dumpState / anvil_loadState: chain kept, pool lost)."""
    with LocalChain() as own:
        assert own.w3 is not None
        fleet = deploy_fleet(own)
        fleet.approve(fleet.follower, pusd=Decimal(10))
        own.node.rpc("evm_setAutomine", [False])
        row = reimburse(fleet, 51)
        state = own.node.rpc("anvil_dumpState")
        port = own.node.port
        own.node.stop()
        own.node = AnvilNode(port=port).start()
        own.node.rpc("anvil_loadState", [state])
        w3 = Web3(Web3.HTTPProvider(own.node.rpc_url))
        assert w3.eth.get_transaction_count(fleet.operator.address, "pending") == 0
        assert fleet.pusd_of(fleet.follower.address) == 100_000_000

        assert monitor(fleet) == {"rebroadcast": 1}  # same bytes: the restarted node mines them
        assert monitor(fleet) == {"mined": 1}
        assert is_settled(w3=w3, settlement=fleet.settlement, copy_id=51)
        assert fleet.pusd_of(fleet.operator.address) == 2_000_000
        assert fleet.pusd_of(fleet.follower.address) == 98_000_000
        row.refresh_from_db()
        assert (row.state, row.attempts) == (State.MINED, 2)
        assert ChainTransaction.objects.count() == 1
