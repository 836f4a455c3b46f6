"""The same trade seen on chain (real EVM) and by the Data API (simulated venue) is one LeaderTrade."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from copytrading.detection.chain import chain_scan
from copytrading.detection.data_api import DataApiClient, leader_poll
from copytrading.models import LeaderTrade, WatchedWallet
from execution.simulator import VenueSimulator
from tests.copytrading.detection.evm import Evm, V2Fill
from tests.copytrading.detection.helpers import fanned_out_ids
from tests.factories import TOKEN_NO, TOKEN_YES, make_leader, random_address

pytestmark = pytest.mark.django_db
Capture = Callable[..., Any]
D = Decimal


@pytest.fixture
def sim() -> Iterator[VenueSimulator]:
    market = {
        "condition_id": "0x" + "5c" * 32,
        "tokens": [{"token_id": TOKEN_YES, "outcome": "Yes"}, {"token_id": TOKEN_NO, "outcome": "No"}],
    }
    with VenueSimulator({"markets": [market]}) as running:
        yield running


def both_sources(evm: Evm, sim: VenueSimulator, leader: WatchedWallet, *, chain_first: bool) -> tuple[int, int]:
    """The leader's two resting BUYs filled in one transaction, seen by both sources."""
    tx = evm.match_v2(
        V2Fill(random_address(), "SELL", int(TOKEN_YES), D(15), D("8.1")),
        [
            V2Fill(leader.address, "BUY", int(TOKEN_YES), D(10), D("5.5")),
            V2Fill(leader.address, "BUY", int(TOKEN_YES), D(5), D("2.6")),
        ],
    )
    block_time = evm.w3.eth.get_block("latest")["timestamp"]
    # The Data API shows one row per maker order of the leader, both with the block's second.
    sim.inject_leader_trade(
        leader.address, TOKEN_YES, "BUY", "10", "0.55", timestamp=block_time, transaction_hash=tx, taker=False
    )
    sim.inject_leader_trade(
        leader.address, TOKEN_YES, "BUY", "5", "0.52", timestamp=block_time, transaction_hash=tx, taker=False
    )
    client = DataApiClient(base_url=sim.url, sleep=lambda s: None)

    def from_chain() -> int:
        return len(chain_scan(w3=evm.w3, exchanges=evm.exchanges, confirmations=0, start_block=1).new_ids)

    def from_data_api() -> int:
        record = leader_poll(wallet_id=leader.id, client=client).record
        return len(record.new_ids) if record else 0

    first, second = (from_chain, from_data_api) if chain_first else (from_data_api, from_chain)
    try:
        return first(), second()
    finally:
        client.close()


@pytest.mark.parametrize("chain_first", [True, False], ids=["chain-then-data-api", "data-api-then-chain"])
def test_the_same_trade_from_the_chain_and_the_data_api_yields_one_leader_trade(
    evm: Evm, sim: VenueSimulator, chain_first: bool, django_capture_on_commit_callbacks: Capture
) -> None:
    leader = make_leader()
    # The Data API's first poll only places its cursor: give it one to start from.
    WatchedWallet.objects.filter(id=leader.id).update(data_api_cursor_ts=1, data_api_cursor_txs=[])
    with django_capture_on_commit_callbacks() as callbacks:
        assert both_sources(evm, sim, leader, chain_first=chain_first) == (1, 0)
    trade = LeaderTrade.objects.get()
    assert (trade.shares, trade.usdc, trade.price, trade.legs) == (D(15), D("8.1"), D("0.54"), 2)
    assert trade.source == ("onchain" if chain_first else "data_api")
    assert fanned_out_ids(callbacks) == [trade.id]
