"""The local chain's contracts: built from their sources, real event bytes, only the operator settles."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3.contract import Contract
from web3.logs import DISCARD

from execution.simulator.chain.artifacts import ARTIFACTS, compile_artifacts, dumps
from execution.simulator.chain.local import LocalChain, call_tx, contract, dev_account, send
from execution.simulator.chain.settlement import Fill

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
ROWS = json.loads((FIXTURES / "onchain_orderfilled_v2_real_rows_with_reconstructed_logs.json").read_text())["items"]


def test_the_checked_in_artifacts_are_what_the_sources_compile_to() -> None:
    assert dumps(compile_artifacts()) == ARTIFACTS.read_text(), (
        "contracts changed: run `.venv/bin/python -m execution.simulator.chain.artifacts`"
    )


def register(chain: LocalChain, *token_ids: int) -> None:
    """A condition for these position ids (plus a complement), registered by the venue's operator."""
    assert chain.w3 is not None
    ctf = contract(chain.w3, chain.info, "ctf")
    operator = dev_account(9)
    positions = [*token_ids, int.from_bytes(secrets.token_bytes(31), "big")]
    condition, question = secrets.token_bytes(32), secrets.token_bytes(32)
    call = ctf.functions.registerCondition(condition, operator.address, question, positions)
    send(chain.w3, operator, call.build_transaction({"from": operator.address}))


def give_shares(chain: LocalChain, holder: str, token_id: int, amount: int) -> None:
    assert chain.w3 is not None
    operator = dev_account(9)
    call = contract(chain.w3, chain.info, "ctf").functions.mint(to_checksum_address(holder), token_id, amount)
    send(chain.w3, operator, call.build_transaction({"from": operator.address}))


def settle(chain: LocalChain, exchange: Contract, taker: Fill, makers: list[Fill], *, sender: Any = None) -> Any:
    assert chain.w3 is not None
    account = sender or dev_account(9)
    call = exchange.functions.matchOrders(taker.struct(), [m.struct() for m in makers])
    return send(chain.w3, account, call.build_transaction({"from": account.address, "gas": 1_000_000}))


def counter_fill(row: dict[str, Any], taker: str) -> Fill:
    """The other side of a fixture row's order: opposite side, amounts swapped."""
    return Fill(
        order_hash="0x" + secrets.token_hex(32),
        maker=taker,
        side=1 - int(row["side"]),
        token_id=int(row["token_id"]),
        making=int(row["taker_amount_filled"]),
        taking=int(row["maker_amount_filled"]),
    )


def row_fill(row: dict[str, Any]) -> Fill:
    return Fill(
        order_hash=row["order_hash"],
        maker=row["maker"],
        side=int(row["side"]),
        token_id=int(row["token_id"]),
        making=int(row["maker_amount_filled"]),
        taking=int(row["taker_amount_filled"]),
        fee=int(row["fee"]),
    )


def fund_for(chain: LocalChain, fill: Fill, *, fee: int = 0) -> None:
    if fill.side == 0:
        chain.fund(fill.maker, pusd=str((fill.making + fee) / 10**6))
    else:
        chain.fund(fill.maker, pusd="0")
        give_shares(chain, fill.maker, fill.token_id, fill.making)


@pytest.mark.parametrize("index", range(len(ROWS)), ids=["taker-leg", "maker-leg"])
def test_a_settlement_emits_order_filled_byte_for_byte_as_on_polygon(chain: LocalChain, index: int) -> None:
    row, raw = ROWS[index]["decoded_row_from_dataset"], ROWS[index]["reconstructed_raw_log"]
    assert chain.w3 is not None
    exchange = contract(chain.w3, chain.info, "exchange")
    register(chain, int(row["token_id"]))
    taker_leg = row["taker"] == row["address"]
    ours = row_fill(row)
    if taker_leg:
        other = counter_fill(row, "0x" + secrets.token_hex(20))
        taker, makers = ours, [other]
    else:
        other = counter_fill(row, row["taker"])
        taker, makers = other, [ours]
    fund_for(chain, ours, fee=ours.fee)
    fund_for(chain, other)

    receipt = settle(chain, exchange, taker, makers)

    filled = [log for log in receipt["logs"] if log["topics"][0] == HexBytes(raw["topics"][0])]
    emitted = next(log for log in filled if log["topics"][1] == HexBytes(row["order_hash"]))
    expected_topics = [HexBytes(t) for t in raw["topics"]]
    if taker_leg:  # the taker leg names the exchange that emitted it, here the local one
        expected_topics[3] = HexBytes(bytes(12) + bytes.fromhex(exchange.address[2:]))
    assert list(emitted["topics"]) == expected_topics
    assert emitted["data"] == HexBytes(raw["data"])
    matched = [log for log in receipt["logs"] if log["topics"][0].hex().startswith("174b3811")]
    assert len(matched) == 1  # OrdersMatched, after the taker's OrderFilled


def test_only_an_operator_may_settle(chain: LocalChain) -> None:
    assert chain.w3 is not None
    exchange = contract(chain.w3, chain.info, "exchange")
    token = int.from_bytes(secrets.token_bytes(31), "big")
    register(chain, token)
    seller, buyer = "0x" + secrets.token_hex(20), "0x" + secrets.token_hex(20)
    sell = Fill("0x" + "11" * 32, seller, 1, token, 5_000_000, 2_000_000)
    buy = Fill("0x" + "22" * 32, buyer, 0, token, 2_000_000, 5_000_000)
    fund_for(chain, sell)
    fund_for(chain, buy)
    with pytest.raises(RuntimeError, match="reverted"):
        settle(chain, exchange, buy, [sell], sender=dev_account(8))  # the admin is not an operator
    settle(chain, exchange, buy, [sell])
    ctf = contract(chain.w3, chain.info, "ctf")
    assert ctf.functions.balanceOf(to_checksum_address(buyer), token).call() == 5_000_000


def test_a_resolved_condition_pays_its_winning_shares_out(chain: LocalChain) -> None:
    assert chain.w3 is not None
    w3, info = chain.w3, chain.info
    ctf, pusd = contract(w3, info, "ctf"), contract(w3, info, "pusd")
    oracle, holder = dev_account(7), dev_account(6)
    yes, no = (int.from_bytes(secrets.token_bytes(31), "big") for _ in range(2))
    condition, question = secrets.token_bytes(32), secrets.token_bytes(32)
    operator = dev_account(9)
    register_call = ctf.functions.registerCondition(condition, oracle.address, question, [yes, no])
    send(w3, operator, register_call.build_transaction({"from": operator.address}))
    chain.fund(holder.address, pusd="0")
    give_shares(chain, holder.address, yes, 7_000_000)
    give_shares(chain, holder.address, no, 3_000_000)

    send(w3, oracle, ctf.functions.reportPayouts(question, [1, 0]).build_transaction({"from": oracle.address}))
    redeem = ctf.functions.redeemPositions(pusd.address, bytes(32), condition, [1, 2])
    receipt = send(w3, holder, redeem.build_transaction({"from": holder.address}))

    assert pusd.functions.balanceOf(holder.address).call() == 7_000_000
    assert ctf.functions.balanceOf(holder.address, yes).call() == 0
    assert ctf.functions.balanceOf(holder.address, no).call() == 0
    redemptions = ctf.events.PayoutRedemption().process_receipt(
        receipt, errors=DISCARD
    )  # its other logs are TransferSingle
    assert [e["args"]["payout"] for e in redemptions] == [7_000_000]
    with pytest.raises(RuntimeError, match="reverted"):  # a second report of the same question
        send(w3, oracle, call_tx(ctf, "reportPayouts", question, [0, 1]))
