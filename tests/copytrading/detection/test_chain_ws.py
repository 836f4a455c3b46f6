"""The WebSocket path against our WebSocket JSON-RPC peer over the node's blocks and logs.

The peer exists for removed logs and dropped connections (anvil does neither, see ws_node.py);
the subscription to anvil's own eth_subscribe is in test_on_the_node.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from copytrading.detection.chain_ws import ChainSubscriber
from copytrading.models import CopyTrade, DetectorState, LeaderTrade
from tests.copytrading.detection.evm import Evm, V2Fill
from tests.copytrading.detection.ws_node import WsNode
from tests.factories import TOKEN_YES, make_copy_trade, make_leader, make_relationship

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
X = int(TOKEN_YES)


def eventually(check: Callable[[], Any], *, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"condition not met within {timeout}s: {check}")


@pytest.fixture
def node(evm: Evm) -> Iterator[WsNode]:
    peer = WsNode(evm)
    yield peer
    peer.close()


@contextmanager
def subscribed(evm: Evm, url: str, *, confirmations: int = 0, wait: bool = True) -> Iterator[ChainSubscriber]:
    subscriber = ChainSubscriber(
        url=url,
        w3=evm.w3,
        exchanges=evm.exchanges,
        confirmations=confirmations,
        grace_seconds=0.05,
        resubscribe_seconds=0.2,
        max_backoff_seconds=0.2,
    )
    thread = threading.Thread(target=subscriber.run, daemon=True)
    thread.start()
    try:
        if wait:
            eventually(subscriber.subscribed.is_set)
        yield subscriber
    finally:
        subscriber.stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_it_records_fills_pushed_by_the_node_and_backfills_what_it_missed_while_disconnected(
    evm: Evm, node: WsNode
) -> None:
    a = make_leader().address
    with subscribed(evm, node.url) as subscriber:
        live = evm.match_v2(V2Fill(a, "BUY", X, D(10), D(5)), [])
        node.publish_block()
        eventually(lambda: LeaderTrade.objects.filter(tx_hash=live).exists())

        node.drop_connections()
        missed = evm.match_v2(V2Fill(a, "SELL", X, D(4), D(2)))  # mined while nobody listens
        eventually(lambda: subscriber.sessions == 2 and subscriber.subscribed.is_set())
        eventually(lambda: LeaderTrade.objects.filter(tx_hash=missed).exists())

        later = make_leader().address  # a new leader: the subscription is renewed to include it
        eventually(lambda: subscriber.sessions == 3 and subscriber.subscribed.is_set())
        fill = evm.match_v2(V2Fill(later, "BUY", X, D(1), D("0.4")))
        node.publish_block()
        eventually(lambda: LeaderTrade.objects.filter(tx_hash=fill).exists())
    assert sorted(LeaderTrade.objects.values_list("tx_hash", flat=True)) == sorted([live, missed, fill])
    assert DetectorState.objects.get(name="chain-ws:polygon").errors >= 1  # the dropped connection


def test_a_removed_log_retracts_its_trade_and_flags_it_when_it_was_copied(evm: Evm, node: WsNode) -> None:
    a, b = make_leader(), make_leader()
    with subscribed(evm, node.url) as subscriber:
        fork = evm.snapshot()
        pending_tx = evm.match_v2(V2Fill(a.address, "BUY", X, D(10), D(5)))
        logs = node.publish_block()
        copied_tx = evm.match_v2(V2Fill(b.address, "BUY", X, D(2), D(1)))
        logs += node.publish_block()
        eventually(lambda: LeaderTrade.objects.count() == 2)
        pending = make_copy_trade(make_relationship(leader=a), LeaderTrade.objects.get(tx_hash=pending_tx))
        sent = make_copy_trade(
            make_relationship(leader=b),
            LeaderTrade.objects.get(tx_hash=copied_tx),
            status=CopyTrade.Status.SIGNED,
            order_hash="0x" + "cd" * 32,
        )

        evm.revert(fork)
        evm.mine(3)
        node.publish_removed(logs)
        eventually(lambda: LeaderTrade.objects.filter(status=LeaderTrade.Status.RETRACTED).count() == 2)
        node.publish_block()  # the new branch's head: the scanner finds nothing else to undo
        eventually(lambda: subscriber.head == evm.block_number())
    pending.refresh_from_db()
    sent.refresh_from_db()
    assert (pending.status, pending.reason_code) == (CopyTrade.Status.SKIPPED, "leader_retracted")
    assert sent.status == CopyTrade.Status.SIGNED
    assert list(LeaderTrade.objects.filter(flagged=True).values_list("tx_hash", flat=True)) == [copied_tx]


def test_a_log_removed_before_it_was_confirmed_never_reaches_the_database(evm: Evm, node: WsNode) -> None:
    a = make_leader().address
    with subscribed(evm, node.url, confirmations=2) as subscriber:
        fork = evm.snapshot()
        evm.match_v2(V2Fill(a, "BUY", X, D(10), D(5)))
        logs = node.publish_block()
        eventually(lambda: len(subscriber._held) == 1)
        evm.revert(fork)
        node.publish_removed(logs)
        eventually(lambda: not subscriber._held)
        real = evm.match_v2(V2Fill(a, "SELL", X, D(3), D(1)))
        evm.mine(2)
        node.publish_block()
        eventually(lambda: LeaderTrade.objects.exists())
    assert list(LeaderTrade.objects.values_list("tx_hash", flat=True)) == [real]


def test_it_keeps_retrying_a_node_that_refuses_connections(evm: Evm) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with subscribed(evm, f"ws://127.0.0.1:{port}", wait=False):
        eventually(lambda: (s := DetectorState.objects.filter(name="chain-ws:polygon").first()) and s.errors >= 2)
