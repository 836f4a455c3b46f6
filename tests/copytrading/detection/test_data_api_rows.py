"""Data API rows and the per-leader cursor (newest second + transactions taken at that second)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copytrading.detection.data_api import DataApiCursor, MalformedRow, TradeRow, loads, parse_trade_row
from copytrading.detection.record import aggregate_observations

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
WALLET = "0x" + "ab" * 20


def fixture(name: str) -> Any:
    return loads((FIXTURES / name).read_text())


def row(ts: int, tx: str, *, size: str = "1", price: str = "0.5") -> TradeRow:
    return TradeRow(
        wallet=WALLET,
        tx_hash=tx,
        token_id="1",
        side="BUY",
        size=Decimal(size),
        price=Decimal(price),
        timestamp=ts,
        condition_id="",
        raw={},
    )


def tx(n: int) -> str:
    return "0x" + f"{n:064x}"


def test_it_parses_the_real_trades_row_with_exact_decimals() -> None:
    (raw,) = fixture("data_api_v1_trades_example_2026.json")
    parsed = parse_trade_row(raw)
    assert (parsed.size, parsed.price, parsed.side, parsed.timestamp) == (
        Decimal("32862.45"),
        Decimal("0.001"),
        "BUY",
        1780533322,
    )
    obs = parsed.observation()
    assert obs.usdc == Decimal("32.86245")
    assert obs.leader == "0xceb57e549f8aa0627f4a4c6004bc8951d78ea27b"
    assert obs.condition_id == raw["conditionId"]
    assert obs.raw["size"] == "32862.45"
    assert "profileImage" not in obs.raw


def test_it_parses_activity_trade_rows_and_refuses_redeem_rows() -> None:
    trade, redeem = fixture("data_api_v1_activity_real_2024-09.json")
    parsed = parse_trade_row(trade)
    assert parsed.observation().usdc == Decimal(str(trade["usdcSize"]))
    with pytest.raises(MalformedRow):
        parse_trade_row(redeem)


@pytest.mark.parametrize(
    "change",
    [
        {"side": "buy"},
        {"size": 0},
        {"size": "NaN"},
        {"price": 1},
        {"price": 0},
        {"timestamp": "1780533322"},
        {"timestamp": True},
        {"transactionHash": "0x12"},
        {"asset": ""},
        {"proxyWallet": "nobody"},
        {"size": 1.5e400},
    ],
    ids=str,
)
def test_it_refuses_malformed_rows(change: dict[str, Any]) -> None:
    (raw,) = fixture("data_api_v1_trades_example_2026.json")
    with pytest.raises(MalformedRow):
        parse_trade_row({**raw, **change})


def test_identical_rows_are_one_leg_and_different_rows_of_a_transaction_are_summed() -> None:
    rows = [
        row(10, tx(1), size="10", price="0.5"),
        row(10, tx(1), size="10", price="0.5"),
        row(10, tx(1), size="5", price="0.8"),
    ]
    (trade,) = aggregate_observations(r.observation() for r in rows)
    assert (trade.shares, trade.usdc, trade.legs, trade.price) == (Decimal(15), Decimal(9), 2, Decimal("0.6"))


def test_a_second_trade_in_the_cursor_second_is_new_and_the_taken_one_is_not() -> None:
    cursor = DataApiCursor(ts=None, txs=frozenset()).advanced([row(100, tx(1)), row(99, tx(0))])
    assert cursor == DataApiCursor(ts=100, txs=frozenset({tx(1)}))
    assert not cursor.is_new(row(100, tx(1)))  # a `>=` cursor would decide it again
    assert cursor.is_new(row(100, tx(2)))  # a `>` cursor would miss it
    assert not cursor.is_new(row(99, tx(3)))
    assert cursor.is_new(row(101, tx(4)))
    assert cursor.advanced([row(100, tx(2))]) == DataApiCursor(ts=100, txs=frozenset({tx(1), tx(2)}))
    assert cursor.advanced([row(101, tx(4))]) == DataApiCursor(ts=101, txs=frozenset({tx(4)}))


def test_the_cursor_never_moves_back_when_two_polls_overlap() -> None:
    ahead = DataApiCursor(ts=200, txs=frozenset({tx(1)}))
    behind = DataApiCursor(ts=150, txs=frozenset({tx(9)}))
    assert behind.merged(ahead) == ahead
    assert ahead.merged(behind) == ahead
    assert ahead.merged(DataApiCursor(ts=200, txs=frozenset({tx(2)}))).txs == {tx(1), tx(2)}
    assert ahead.merged(DataApiCursor(ts=None, txs=frozenset())) == ahead


@given(
    st.lists(st.tuples(st.integers(1, 6), st.integers(1, 12)), min_size=1, max_size=30),
    st.integers(0, 30),
)
def test_taking_a_feed_in_any_two_polls_takes_every_trade_exactly_once(
    trades: list[tuple[int, int]], split: int
) -> None:
    """However the feed is cut between two polls (a restart), nothing is missed or taken twice."""
    feed = sorted({(ts, n) for ts, n in trades})
    first, later = feed[:split], feed
    cursor = DataApiCursor(ts=None, txs=frozenset())
    taken: list[tuple[int, int]] = []
    for seen in (first, later):
        rows = [row(ts, tx(n)) for ts, n in seen]
        new = [r for r in rows if cursor.is_new(r)]
        taken += [(r.timestamp, int(r.tx_hash, 16)) for r in new]
        cursor = cursor.advanced(rows)
    assert sorted(taken) == feed
