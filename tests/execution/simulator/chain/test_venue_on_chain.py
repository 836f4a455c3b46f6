"""The simulated venue with a chain: one operator transaction per match, statuses from the node."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hexbytes import HexBytes

from execution.simulator import VenueSimulator
from execution.simulator.chain.local import LocalChain, contract
from execution.simulator.errors import VenueError
from tests.execution.simulator.support import (
    ADDR0,
    ADDR1,
    CID,
    NEG_RISK_EXCHANGE,
    NO,
    NR_CID,
    NR_NO,
    NR_YES,
    PK0,
    PK1,
    YES,
    body,
    limit_amounts,
    sign_order,
)

D = Decimal
TOPIC_ORDER_FILLED_V2 = HexBytes("0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee")
SCENARIO: dict[str, Any] = {
    "markets": [
        {
            "condition_id": CID,
            "tokens": [{"token_id": YES, "outcome": "Yes"}, {"token_id": NO, "outcome": "No"}],
            "fee_rate": "0.072",
        },
        {
            "condition_id": NR_CID,
            "tokens": [{"token_id": NR_YES, "outcome": "Yes"}, {"token_id": NR_NO, "outcome": "No"}],
            "neg_risk": True,
            "tick_size": "0.001",
        },
    ],
    "books": [
        {"token_id": YES, "bids": [["0.55", "100"]], "asks": [["0.57", "100"]]},
        {"token_id": NR_YES, "bids": [["0.3", "100"]], "asks": [["0.31", "100"]]},
    ],
    "settlement": {"manual": True},
}


@pytest.fixture
def sim(chain: LocalChain) -> Iterator[VenueSimulator]:
    with VenueSimulator(SCENARIO, chain=chain.info) as running:
        yield running


def buy(sim: VenueSimulator, key: str, address: str, token: str, price: str, shares: str, **kw: Any) -> Any:
    creds = sim.credentials(address)
    maker, taker = limit_amounts("BUY", price, shares)
    order = sign_order(key, token_id=token, side="BUY", maker_amount=maker, taker_amount=taker, **kw)
    return sim.place(body(order, creds.key, "GTC"), creds)


def sell(sim: VenueSimulator, key: str, address: str, token: str, price: str, shares: str, **kw: Any) -> Any:
    creds = sim.credentials(address)
    maker, taker = limit_amounts("SELL", price, shares)
    order = sign_order(key, token_id=token, side="SELL", maker_amount=maker, taker_amount=taker, **kw)
    return sim.place(body(order, creds.key, "GTC"), creds)


def test_a_match_is_one_transaction_of_the_operator_and_its_trades_follow_the_blocks(
    chain: LocalChain, sim: VenueSimulator
) -> None:
    assert chain.w3 is not None
    sim.set_balance(ADDR0, pusd="100", shares={YES: "20"})
    sim.set_balance(ADDR1, pusd="100")
    assert sell(sim, PK0, ADDR0, YES, "0.56", "6")["status"] == "live"
    # ADDR1 takes ADDR0's resting 6 at 0.56 and 4 more from the house at 0.57: one match, two trades.
    answer = buy(sim, PK1, ADDR1, YES, "0.57", "10")
    assert answer["status"] == "matched"
    sim.advance_trades(to="MINED")
    trades = sim.trades(wallet=ADDR1)
    assert [t["status"] for t in trades] == ["MINED", "MINED"]
    tx_hash = HexBytes(str(trades[0]["transaction_hash"]))
    assert HexBytes(str(trades[1]["transaction_hash"])) == tx_hash
    tx = chain.w3.eth.get_transaction(tx_hash)
    receipt = chain.w3.eth.get_transaction_receipt(tx_hash)
    assert tx["from"] == chain.info.venue_operator
    assert tx["to"] == chain.info.contracts["exchange"]
    assert receipt["status"] == 1
    fills = [log for log in receipt["logs"] if log["topics"][0] == TOPIC_ORDER_FILLED_V2]
    assert len(fills) == 3  # two maker orders, then the taker order

    # CONFIRMED once the block is two deep, and not before.
    chain.node.rpc("evm_mine")
    sim.run_due()
    assert {t["status"] for t in sim.trades(wallet=ADDR1)} == {"MINED"}
    sim.advance_trades()
    assert {t["status"] for t in sim.trades(wallet=ADDR1)} == {"CONFIRMED"}
    assert chain.w3.eth.block_number >= receipt["blockNumber"] + 2

    # The Data API shows the real hash; balances are the chain's, fees included.
    rows = httpx.get(f"{sim.url}/trades", params={"user": ADDR1}).json()
    assert {r["transactionHash"] for r in rows} == {"0x" + tx_hash.hex()}
    fee = sum((D(str(t["fee"])) for t in trades), D(0))
    paid = D("3.36") + D("2.28") + fee
    assert sim.balances(ADDR1) == {"pusd": D(100) - paid, "shares": {YES: D(10)}, "approved": True}
    assert sim.balances(ADDR0) == {"pusd": D("103.36"), "shares": {YES: D(14)}, "approved": True}


def test_a_neg_risk_market_settles_on_the_neg_risk_exchange(chain: LocalChain, sim: VenueSimulator) -> None:
    assert chain.w3 is not None
    sim.set_balance(ADDR0, pusd="10")
    buy(sim, PK0, ADDR0, NR_YES, "0.31", "5", exchange=NEG_RISK_EXCHANGE)
    (trade,) = sim.advance_trades(to="MINED")
    tx = chain.w3.eth.get_transaction(HexBytes(str(trade["transaction_hash"])))
    assert tx["to"] == chain.info.contracts["neg_risk_exchange"]
    assert sim.balances(ADDR0)["shares"] == {NR_YES: D(5)}


def test_a_reverted_settlement_fails_its_trades_and_gives_the_balances_back(
    chain: LocalChain, sim: VenueSimulator
) -> None:
    assert chain.w3 is not None
    sim.set_balance(ADDR0, pusd="50")
    sim.add_fault("trade_failure")
    buy(sim, PK0, ADDR0, YES, "0.57", "10")
    sim.advance_trades(to="MINED")
    (trade,) = sim.trades(wallet=ADDR0)
    assert trade["status"] == "FAILED"
    assert chain.w3.eth.get_transaction_receipt(HexBytes(str(trade["transaction_hash"])))["status"] == 0
    assert sim.balances(ADDR0) == {"pusd": D(50), "shares": {}, "approved": True}
    # The ledger got the money back too: the same wallet can spend it again.
    assert buy(sim, PK0, ADDR0, YES, "0.57", "80")["status"] == "matched"
    with pytest.raises(ValueError, match="settlement transaction reverts"):
        sim.fail_trades()


def test_a_wallet_funded_on_the_chain_trades_with_what_it_holds_there(chain: LocalChain, sim: VenueSimulator) -> None:
    chain.fund(ADDR1, pusd="5")
    assert sim.balances(ADDR1) == {"pusd": D(5), "shares": {}, "approved": True}
    with pytest.raises(VenueError, match="not enough balance"):
        buy(sim, PK1, ADDR1, YES, "0.57", "10")  # 5.70 + fee > 5
    assert buy(sim, PK1, ADDR1, YES, "0.57", "8")["status"] == "matched"
    sim.advance_trades()
    assert contract(chain.w3, chain.info, "ctf").functions.balanceOf(ADDR1, int(YES)).call() == 8_000_000  # type: ignore[arg-type]
