"""Scenarios from JSON and from a Data API activity tape; copies of the tape fill."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from execution.simulator import Venue, scenario_from_activity_tape
from execution.simulator.errors import VenueError
from execution.simulator.intake import is_v2_position_id

from .support import ADDR0, CID, PK0, YES, body, scenario, sign_order

TAPE = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "leader_tape_data_api_activity_2024-09.json").read_text()
)


def test_it_loads_a_scenario_file(tmp_path: Path) -> None:
    spec = scenario(
        books=[{"token_id": YES, "bids": [{"price": "0.4", "size": 10}], "asks": [["0.6", "20"]], "replenish": False}],
        leader_trades=[{"wallet": "0x" + "11" * 20, "token_id": YES, "side": "BUY", "size": 3, "price": 0.6}],
        settlement={"mined_after_ms": 10, "confirmed_after_ms": 20},
        chain_id=80002,
    )
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(spec))
    venue = Venue(path)
    assert (venue.chain_id, venue.market(YES).condition_id) == (80002, CID)
    book = venue.book(YES)
    assert (book["bids"], book["asks"]) == ([{"price": "0.4", "size": "10"}], [{"price": "0.6", "size": "20"}])
    assert venue.balances(ADDR0)["pusd"] == Decimal(1000)
    assert venue.data_trades({"user": "0x" + "11" * 20})[0]["size"] == Decimal(3)
    assert venue.engine.mined_after_s == pytest.approx(0.01)


def test_it_refuses_a_tick_size_polymarket_does_not_use() -> None:
    with pytest.raises(ValueError, match=r"tick size 0\.02"):
        Venue(scenario(markets=[{"condition_id": CID, "tokens": [{"token_id": YES}], "tick_size": "0.02"}]))


def test_it_builds_one_market_per_traded_condition_from_the_tape() -> None:
    built = scenario_from_activity_tape(TAPE)
    traded = {r["conditionId"] for r in TAPE if r["type"] == "TRADE"}
    assert {m.condition_id for m in built.markets} == traded
    for market in built.markets:
        assert len(market.tokens) == 2
        # Real CTF ids (76-78 digits on this tape), never protocol-V2 positions.
        assert all(len(t.token_id) >= 76 and not is_v2_position_id(int(t.token_id)) for t in market.tokens)
        assert market.tick_size in (Decimal("0.01"), Decimal("0.001"))
    assert built.recenter_on_leader_trades is True
    assert len(built.books) == 2 * len(built.markets)
    assert built.leader_trades == []


def test_it_lets_copies_of_every_tape_trade_fill() -> None:
    built = scenario_from_activity_tape(TAPE, include_leader_trades=False)
    venue = Venue(built)
    venue.set_settlement(None)
    creds = venue.credentials(ADDR0)
    venue.set_balance(ADDR0, pusd="100000", shares={t.token_id: "100000" for m in built.markets for t in m.tokens})
    trades = sorted((r for r in TAPE if r["type"] == "TRADE"), key=lambda r: r["timestamp"])
    filled = 0
    for row in trades:
        venue.inject_leader_trade(row["proxyWallet"], row["asset"], row["side"], row["size"], row["price"])
        tick = venue.market(row["asset"]).tick_size
        price = Decimal(str(row["price"])).quantize(tick)
        amount_quantum = Decimal(1).scaleb(-(5 if tick == Decimal("0.001") else 4))
        if row["side"] == "BUY":
            maker = Decimal(5)
            taker = (maker / price).quantize(amount_quantum, rounding="ROUND_FLOOR")
            amounts = (int(maker * 1_000_000), int(taker * 1_000_000))
        else:
            shares = Decimal(10)
            amounts = (int(shares * 1_000_000), int(shares * price * 1_000_000))
        order = sign_order(
            PK0, token_id=row["asset"], side=row["side"], maker_amount=amounts[0], taker_amount=amounts[1]
        )
        try:
            answer = venue.place(body(order, creds.key, "FAK"), creds)
        except VenueError as refusal:
            pytest.fail(f"copy of {row['transactionHash']} refused: {refusal}")
        assert answer["status"] == "matched"
        filled += 1
    assert filled == len(trades) > 50
    # Every leader trade is on the Data API for its wallet.
    assert sum(len(venue.data_trades({"user": w, "limit": "500"})) for w in {r["proxyWallet"] for r in trades}) == len(
        trades
    )
