"""FleetSettlement on the local chain: only registered operators, each copy id once, exact amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD
from web3.types import TxReceipt

from execution.fleet.artifacts import ARTIFACTS, compile_artifacts
from execution.fleet.onchain import (
    AdminCallFailed,
    AmountNotExact,
    ContractCall,
    follower_approvals,
    is_operator,
    is_settled,
    proceeds_call,
    pull_shares_call,
    push_shares_call,
    register_operator,
    reimburse_call,
    revert_reason,
    settled_copies,
    settlement_contract,
    to_base_units,
)
from execution.simulator.chain.artifacts import dumps
from execution.simulator.chain.local import send

from .conftest import Fleet, new_account

pytestmark = pytest.mark.fleet


def test_the_checked_in_artifacts_are_what_the_source_compiles_to() -> None:
    assert dumps(compile_artifacts()) == ARTIFACTS.read_text(), (
        "FleetSettlement.vy changed: run `.venv/bin/python -m execution.fleet.artifacts`"
    )


def sent(fleet: Fleet, account: LocalAccount, call: ContractCall) -> TxReceipt:
    return send(fleet.w3, account, {"to": call.to, "data": call.data, "gas": call.gas})


def test_it_reimburses_the_operator_exactly_once_per_copy(fleet: Fleet) -> None:
    fleet.approve(fleet.follower, pusd=Decimal(50))
    call = reimburse_call(
        settlement=fleet.settlement, copy_id=7, follower=fleet.follower.address, amount=Decimal("12.345678")
    )

    receipt = sent(fleet, fleet.operator, call)

    assert fleet.pusd_of(fleet.operator.address) == 12_345_678
    assert fleet.pusd_of(fleet.follower.address) == 100_000_000 - 12_345_678
    assert is_settled(w3=fleet.w3, settlement=fleet.settlement, copy_id=7)
    assert not is_settled(w3=fleet.w3, settlement=fleet.settlement, copy_id=8)
    events = (
        settlement_contract(w3=fleet.w3, settlement=fleet.settlement)
        .events.Reimbursed()
        .process_receipt(receipt, errors=DISCARD)
    )  # its other log is pUSD's Transfer
    assert [dict(e["args"]) for e in events] == [
        {
            "copy_id": (7).to_bytes(32, "big"),
            "follower": fleet.follower.address,
            "operator": fleet.operator.address,
            "amount": 12_345_678,
        }
    ]
    assert "already settled" in (revert_reason(w3=fleet.w3, call=call, sender=fleet.operator.address) or "")
    with pytest.raises(RuntimeError, match="reverted"):
        sent(fleet, fleet.operator, call)
    assert fleet.pusd_of(fleet.operator.address) == 12_345_678
    approvals = follower_approvals(
        w3=fleet.w3, pusd=fleet.pusd, ctf=fleet.ctf, settlement=fleet.settlement, follower=fleet.follower.address
    )
    assert approvals.pusd_allowance == Decimal("37.654322")
    assert approvals.pusd_balance == Decimal("87.654322")
    assert not approvals.shares_approved


def test_it_refuses_a_caller_that_is_not_a_registered_operator(fleet: Fleet) -> None:
    fleet.approve(fleet.follower, pusd=Decimal(50))
    stranger = new_account()
    fleet.chain.fund(stranger.address, pol="1", approve=False)
    call = reimburse_call(settlement=fleet.settlement, copy_id=1, follower=fleet.follower.address, amount=Decimal(1))
    assert "not an operator" in (revert_reason(w3=fleet.w3, call=call, sender=stranger.address) or "")
    with pytest.raises(RuntimeError, match="reverted"):
        sent(fleet, stranger, call)

    register_operator(
        w3=fleet.w3,
        admin_key=fleet.admin_key,
        settlement=fleet.settlement,
        operator=fleet.operator.address,
        allowed=False,
    )
    assert not is_operator(w3=fleet.w3, settlement=fleet.settlement, address=fleet.operator.address)
    with pytest.raises(RuntimeError, match="reverted"):
        sent(fleet, fleet.operator, call)
    assert fleet.pusd_of(fleet.follower.address) == 100_000_000
    assert not is_settled(w3=fleet.w3, settlement=fleet.settlement, copy_id=1)


def test_only_the_admin_registers_operators(fleet: Fleet) -> None:
    stranger = new_account()
    fleet.chain.fund(stranger.address, pol="1", approve=False)
    with pytest.raises(AdminCallFailed):
        register_operator(
            w3=fleet.w3, admin_key=stranger.key.hex(), settlement=fleet.settlement, operator=stranger.address
        )
    assert not is_operator(w3=fleet.w3, settlement=fleet.settlement, address=stranger.address)


def test_a_revoked_allowance_reverts_and_settles_nothing(fleet: Fleet) -> None:
    fleet.approve(fleet.follower, pusd=Decimal(50))
    fleet.approve(fleet.follower, pusd=Decimal(0))
    call = reimburse_call(settlement=fleet.settlement, copy_id=3, follower=fleet.follower.address, amount=Decimal(5))

    assert "insufficient allowance" in (revert_reason(w3=fleet.w3, call=call, sender=fleet.operator.address) or "")
    with pytest.raises(RuntimeError, match="reverted"):
        sent(fleet, fleet.operator, call)
    assert not is_settled(w3=fleet.w3, settlement=fleet.settlement, copy_id=3)
    assert fleet.pusd_of(fleet.follower.address) == 100_000_000

    fleet.approve(fleet.follower, pusd=Decimal(5))  # restored: the same copy id settles then, once
    sent(fleet, fleet.operator, call)
    assert fleet.pusd_of(fleet.operator.address) == 5_000_000


def test_pull_shares_moves_them_to_the_operator_once_and_shares_the_copy_record(fleet: Fleet) -> None:
    token = fleet.new_shares(fleet.follower.address, 9_000_000)
    fleet.approve(fleet.follower, shares=True, pusd=Decimal(10))
    pull = pull_shares_call(
        settlement=fleet.settlement, copy_id=11, follower=fleet.follower.address, token_id=token, shares=Decimal("4.5")
    )

    sent(fleet, fleet.operator, pull)

    assert fleet.shares_of(fleet.operator.address, token) == 4_500_000
    assert fleet.shares_of(fleet.follower.address, token) == 4_500_000
    with pytest.raises(RuntimeError, match="reverted"):
        sent(fleet, fleet.operator, pull)
    reimburse = reimburse_call(
        settlement=fleet.settlement, copy_id=11, follower=fleet.follower.address, amount=Decimal(1)
    )
    with pytest.raises(RuntimeError, match="reverted"):  # one record per copy id, whichever call
        sent(fleet, fleet.operator, reimburse)
    assert fleet.shares_of(fleet.operator.address, token) == 4_500_000


def test_settled_copies_are_read_back_from_the_contracts_logs(fleet: Fleet) -> None:
    token = fleet.new_shares(fleet.follower.address, 3_000_000)
    fleet.approve(fleet.follower, shares=True, pusd=Decimal(10))
    start = fleet.w3.eth.block_number
    sent(
        fleet,
        fleet.operator,
        reimburse_call(settlement=fleet.settlement, copy_id=61, follower=fleet.follower.address, amount=Decimal("1.1")),
    )
    receipt = sent(
        fleet,
        fleet.operator,
        pull_shares_call(
            settlement=fleet.settlement, copy_id=62, follower=fleet.follower.address, token_id=token, shares=Decimal(3)
        ),
    )

    found = settled_copies(w3=fleet.w3, settlement=fleet.settlement, from_block=start)

    assert sorted(found) == [61, 62]
    assert (found[61].kind, found[61].amount, found[61].token_id) == ("reimbursed", Decimal("1.1"), None)
    assert (found[62].kind, found[62].amount, found[62].token_id) == ("pulled", Decimal(3), token)
    assert found[62].operator == fleet.operator.address
    assert found[62].follower == fleet.follower.address
    assert found[62].tx_hash == "0x" + bytes(receipt["transactionHash"]).hex()


def test_pull_shares_needs_the_followers_approval_for_all(fleet: Fleet) -> None:
    token = fleet.new_shares(fleet.follower.address, 1_000_000)
    pull = pull_shares_call(
        settlement=fleet.settlement, copy_id=12, follower=fleet.follower.address, token_id=token, shares=Decimal(1)
    )
    with pytest.raises(RuntimeError, match="reverted"):
        sent(fleet, fleet.operator, pull)
    assert not is_settled(w3=fleet.w3, settlement=fleet.settlement, copy_id=12)


def test_the_operator_pushes_shares_to_the_follower(fleet: Fleet) -> None:
    token = fleet.new_shares(fleet.operator.address, 2_000_000)
    push = push_shares_call(
        ctf=fleet.ctf,
        operator=fleet.operator.address,
        follower=fleet.follower.address,
        token_id=token,
        shares=Decimal("1.25"),
    )
    sent(fleet, fleet.operator, push)
    assert fleet.shares_of(fleet.follower.address, token) == 1_250_000
    assert fleet.shares_of(fleet.operator.address, token) == 750_000


def test_the_operator_pays_sale_proceeds_to_the_follower(fleet: Fleet) -> None:
    fleet.chain.fund(fleet.operator.address, pusd="20", approve=False)
    sent(fleet, fleet.operator, proceeds_call(pusd=fleet.pusd, follower=fleet.follower.address, amount=Decimal("7.5")))
    assert fleet.pusd_of(fleet.follower.address) == 107_500_000
    assert fleet.pusd_of(fleet.operator.address) == 12_500_000


@pytest.mark.parametrize("amount", ["0.0000001", "0", "-1", "NaN"])
def test_amounts_below_one_base_unit_or_not_positive_are_refused(amount: str) -> None:
    with pytest.raises(AmountNotExact):
        to_base_units(Decimal(amount))
