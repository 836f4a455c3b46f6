"""Detection end to end on a real node: a leader's order matched at the venue, settled on anvil,
seen in its OrderFilled log (HTTP eth_getLogs and WebSocket eth_subscribe), recorded once with
the Data API's view, copied once; and reorgs made with anvil's own RPCs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import dramatiq
import pytest
from django.test import override_settings
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from copytrading.detection.chain import chain_scan, chain_web3
from copytrading.detection.chain_ws import ChainSubscriber
from copytrading.detection.data_api import DataApiClient, leader_poll
from copytrading.models import CopyTrade, LeaderTrade, WatchedWallet
from execution.simulator import VenueSimulator
from execution.simulator.chain.local import LocalChain, contract, dev_account
from execution.venue.gateway import default_gateway
from polyhunter.broker import stop_worker
from tests.copytrading.pipeline.conftest import SCENARIO, follow, speed_account
from tests.execution.simulator.support import body, limit_amounts, sign_order
from tests.factories import TOKEN_YES, make_leader

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
LEADER, COUNTERPARTY = dev_account(5), dev_account(6)


def eventually(check: Callable[[], Any], *, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"condition not met within {timeout}s: {check}")


@pytest.fixture
def sim(chain: LocalChain) -> Iterator[VenueSimulator]:
    """The venue settling on the node, and the platform pointed at both."""
    with VenueSimulator(SCENARIO, chain=chain.info) as running:
        exchanges = [chain.info.contracts["exchange"].lower(), chain.info.contracts["neg_risk_exchange"].lower()]
        with override_settings(
            POLYMARKET_CLOB_URL=running.url,
            POLYMARKET_DATA_URL=running.url,
            POLYGON_RPC_URL=chain.info.rpc_url,
            POLYGON_EXCHANGE_ADDRESSES=exchanges,
        ):
            default_gateway.cache_clear()
            yield running
        default_gateway.cache_clear()


def place(sim: VenueSimulator, account: Any, side: str, shares: str, price: str = "0.56") -> dict[str, Any]:
    creds = sim.credentials(account.address)
    maker, taker = limit_amounts(side, price, shares)
    order = sign_order(
        "0x" + bytes(account.key).hex(),
        token_id=TOKEN_YES,
        side=side,
        maker_amount=maker,
        taker_amount=taker,
    )
    return sim.place(body(order, creds.key, "GTC"), creds)


def leader_buys(sim: VenueSimulator, shares: str = "10") -> str:
    """The counterparty rests a SELL, the leader's BUY takes it: one settlement, its hash."""
    assert place(sim, COUNTERPARTY, "SELL", shares)["status"] == "live"
    answer = place(sim, LEADER, "BUY", shares)
    assert answer["status"] == "matched"
    (trade_id,) = answer["tradeIDs"]
    sim.advance_trades(to="MINED")
    (trade,) = [t for t in sim.trades(wallet=LEADER.address) if t["id"] == trade_id]
    return str(trade["transaction_hash"])


def chain_balances(chain: LocalChain, address: str) -> tuple[int, int]:
    assert chain.w3 is not None
    holder = to_checksum_address(address)
    pusd = contract(chain.w3, chain.info, "pusd").functions.balanceOf(holder).call()
    shares = contract(chain.w3, chain.info, "ctf").functions.balanceOf(holder, int(TOKEN_YES)).call()
    return int(pusd), int(shares)


@contextmanager
def subscribed(chain: LocalChain, sim: VenueSimulator) -> Iterator[ChainSubscriber]:
    subscriber = ChainSubscriber(
        url=chain.info.ws_url,
        w3=chain_web3(url=chain.info.rpc_url),
        confirmations=0,
        grace_seconds=0.05,
        resubscribe_seconds=0.2,
        max_backoff_seconds=0.2,
    )
    thread = threading.Thread(target=subscriber.run, daemon=True)
    thread.start()
    try:
        eventually(subscriber.subscribed.is_set)
        yield subscriber
    finally:
        subscriber.stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.parametrize("transport", ["http", "websocket"])
def test_a_leader_fill_settled_on_the_node_is_detected_recorded_once_and_copied_once(
    chain: LocalChain, sim: VenueSimulator, broker: dramatiq.Broker, worker: dramatiq.Worker, transport: str
) -> None:
    leader = make_leader(address=LEADER.address.lower())
    # The Data API's first poll only places its cursor: give it one to start from.
    WatchedWallet.objects.filter(id=leader.id).update(data_api_cursor_ts=1, data_api_cursor_txs=[])
    follower = follow(speed_account(sim, pusd="100"), leader=leader, sizing_value=D(5))
    sim.set_balance(LEADER.address, pusd="100")
    sim.set_balance(COUNTERPARTY.address, pusd="0", shares={TOKEN_YES: "10"})
    before = {who: chain_balances(chain, who.address) for who in (LEADER, COUNTERPARTY)}

    if transport == "http":
        w3 = chain_web3()
        chain_scan(w3=w3, confirmations=0)  # places the cursor after the head
        tx_hash = leader_buys(sim)
        assert len(chain_scan(w3=w3, confirmations=0).new_ids) == 1
    else:
        with subscribed(chain, sim) as subscriber:
            tx_hash = leader_buys(sim)
            eventually(lambda: LeaderTrade.objects.filter(tx_hash=tx_hash).exists())
            # The node pushed the leader's OrderFilled (the scan each new head runs may record it first).
            eventually(lambda: subscriber.logs_received >= 1)

    trade = LeaderTrade.objects.get()
    assert (trade.tx_hash, trade.source, trade.side, trade.shares, trade.usdc) == (
        tx_hash,
        LeaderTrade.Source.ONCHAIN,
        "BUY",
        D(10),
        D("5.6"),
    )
    # The Data API shows the same trade (same transaction): the same row, not a second one.
    client = DataApiClient(base_url=sim.url, sleep=lambda s: None)
    try:
        record = leader_poll(wallet_id=leader.id, client=client).record
    finally:
        client.close()
    assert record is not None
    assert (record.new_ids, record.duplicates) == ([], 1)
    assert LeaderTrade.objects.count() == 1

    copy = eventually(
        lambda: CopyTrade.objects.filter(leader_trade=trade, status=CopyTrade.Status.FILLED).first(), timeout=60
    )
    assert copy.relationship_id == follower.id
    assert CopyTrade.objects.count() == 1
    follower_orders = sim.orders(maker=follower.account.signer_address)
    assert [o["id"] for o in follower_orders] == [copy.order_hash]

    # On chain, the leader and its counterparty moved by exactly the fill, the taker fee included.
    fee = 98_560  # 10 shares x 0.04 x 0.56 x 0.44, floored to 5 decimals
    assert chain_balances(chain, LEADER.address) == (
        before[LEADER][0] - 5_600_000 - fee,
        before[LEADER][1] + 10_000_000,
    )
    assert chain_balances(chain, COUNTERPARTY.address) == (
        before[COUNTERPARTY][0] + 5_600_000,
        before[COUNTERPARTY][1] - 10_000_000,
    )


def test_a_reorg_retracts_the_dropped_trade_and_copies_the_reincluded_one_once(
    chain: LocalChain, sim: VenueSimulator, broker: dramatiq.Broker
) -> None:
    assert chain.w3 is not None
    leader = make_leader(address=LEADER.address.lower())
    follower = follow(speed_account(sim, pusd="100"), leader=leader, sizing_value=D(5))
    sim.set_balance(LEADER.address, pusd="100")
    sim.set_balance(COUNTERPARTY.address, pusd="0", shares={TOKEN_YES: "20"})
    w3 = chain_web3()
    chain_scan(w3=w3, confirmations=0)
    kept = leader_buys(sim, "10")
    dropped = leader_buys(sim, "6")
    assert chain.w3.eth.get_transaction_receipt(HexBytes(dropped))["blockNumber"] == chain.w3.eth.block_number
    # Detected with no confirmation: recorded, its fan-out queued (no worker runs yet).
    assert len(chain_scan(w3=w3, confirmations=0).new_ids) == 2

    # anvil replaces the two blocks: the first settlement is re-included, the second is gone.
    raw = "0x" + bytes(chain.w3.eth.get_raw_transaction(HexBytes(kept))).hex()
    chain.node.rpc("anvil_reorg", [2, [[raw, 1]]])
    assert chain.w3.eth.get_transaction_receipt(HexBytes(kept))["status"] == 1
    result = chain_scan(w3=w3, confirmations=0)

    assert (result.retracted, result.flagged) == (1, 0)
    status = dict(LeaderTrade.objects.values_list("tx_hash", "status"))
    assert status[dropped] == LeaderTrade.Status.RETRACTED
    assert status[kept] == LeaderTrade.Status.NEW

    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        copy = eventually(
            lambda: CopyTrade.objects.filter(leader_trade__tx_hash=kept, status=CopyTrade.Status.FILLED).first(),
            timeout=60,
        )
        assert chain_scan(w3=w3, confirmations=0).new_ids == []  # a later scan finds nothing new to copy
        for queue_name in broker.get_declared_queues():
            broker.join(queue_name, timeout=30_000)
        worker.join()
    finally:
        stop_worker(worker)
    assert list(CopyTrade.objects.values_list("id", flat=True)) == [copy.id]
    assert not CopyTrade.objects.filter(leader_trade__tx_hash=dropped).exists()
    assert [o["id"] for o in sim.orders(maker=follower.account.signer_address)] == [copy.order_hash]
