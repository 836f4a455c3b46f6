"""The chain detector against a real EVM: exactly the watched leaders' fills, once each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from web3.types import TxParams, Wei

from copytrading.detection.chain import ChainUnavailable, chain_scan
from copytrading.models import ChainCursor, CopyTrade, DetectorState, LeaderTrade
from tests.copytrading.detection.evm import Evm, V1Fill, V2Fill
from tests.copytrading.detection.helpers import fanned_out_ids, trade_rows
from tests.factories import TOKEN_NO, TOKEN_YES, make_copy_trade, make_leader, make_relationship, random_address

pytestmark = pytest.mark.django_db

X, Y = int(TOKEN_YES), int(TOKEN_NO)
D = Decimal
Capture = Callable[..., Any]


def scan(evm: Evm, **kwargs: Any) -> Any:
    kwargs.setdefault("confirmations", 0)
    kwargs.setdefault("start_block", 1)
    return chain_scan(w3=evm.w3, exchanges=evm.exchanges, **kwargs)


def test_it_reports_exactly_the_watched_leaders_fills_once_each(
    evm: Evm, django_capture_on_commit_callbacks: Capture
) -> None:
    a, b = make_leader().address, make_leader().address
    c, m1, m2 = random_address(), random_address(), random_address()
    # A's aggressive BUY against two resting sells: A's own log is the taker leg.
    tx1 = evm.match_v2(
        V2Fill(a, "BUY", X, D(10), D("5.6")),
        [V2Fill(m1, "SELL", X, D(6), D("3.3")), V2Fill(m2, "SELL", X, D(4), D("2.3"))],
    )
    # Two of A's resting BUYs filled by C's SELL in one transaction: one trade of two legs.
    tx2 = evm.match_v2(
        V2Fill(c, "SELL", X, D(15), D("8.1")),
        [V2Fill(a, "BUY", X, D(10), D("5.5")), V2Fill(a, "BUY", X, D(5), D("2.6"))],
    )
    # B sells on the legacy V1 exchange; C's maker leg names B as taker (topic3), not counted.
    tx3 = evm.match_v1(V1Fill(b, "SELL", Y, D(20), D(9)), [V1Fill(c, "BUY", Y, D(20), D(9))])
    # B's resting SELL on the neg-risk exchange.
    tx4 = evm.match_v2(
        V2Fill(c, "BUY", X, D(7), D("4.2")), [V2Fill(b, "SELL", X, D(7), D("4.2"))], exchange=evm.v2_negrisk
    )
    # Noise: nobody we follow, a position transfer from A, A's fill on an exchange not configured.
    evm.match_v2(V2Fill(c, "BUY", Y, D(3), D("1.5")), [V2Fill(m1, "SELL", Y, D(3), D("1.5"))])
    evm.transfer(a, c, X, 5 * 10**6)
    evm.match_v2(V2Fill(a, "BUY", Y, D(1), D("0.5")), exchange=evm.unlisted)

    with django_capture_on_commit_callbacks() as callbacks:
        result = scan(evm, leader_batch=1)

    assert trade_rows() == {
        (a, tx1, TOKEN_YES, "BUY", D(10), D("5.6"), 1),
        (a, tx2, TOKEN_YES, "BUY", D(15), D("8.1"), 2),
        (b, tx3, TOKEN_NO, "SELL", D(20), D(9), 1),
        (b, tx4, TOKEN_YES, "SELL", D(7), D("4.2"), 1),
    }
    assert LeaderTrade.objects.get(tx_hash=tx2).price == D("0.54")
    assert set(LeaderTrade.objects.values_list("source", flat=True)) == {"onchain"}
    assert fanned_out_ids(callbacks) == sorted(LeaderTrade.objects.values_list("id", flat=True))
    assert result.fills == 5
    assert result.to_block == evm.block_number()

    with django_capture_on_commit_callbacks() as again:
        assert scan(evm).new_ids == []
    assert fanned_out_ids(again) == []
    assert LeaderTrade.objects.count() == 4


def test_it_keeps_fills_back_until_they_are_buried_under_the_confirmation_depth(evm: Evm) -> None:
    a = make_leader().address
    tx = evm.match_v2(V2Fill(a, "BUY", X, D(2), D(1)))
    assert scan(evm, confirmations=3).new_ids == []
    evm.mine(2)
    assert scan(evm, confirmations=3).new_ids == []
    evm.mine(1)
    assert len(scan(evm, confirmations=3).new_ids) == 1
    assert LeaderTrade.objects.get().tx_hash == tx


def test_it_starts_at_the_confirmed_head_when_it_has_no_cursor(evm: Evm) -> None:
    a = make_leader().address
    evm.match_v2(V2Fill(a, "BUY", X, D(2), D(1)))
    first = chain_scan(w3=evm.w3, exchanges=evm.exchanges, confirmations=0)
    assert first.new_ids == []
    later = evm.match_v2(V2Fill(a, "SELL", X, D(2), D(1)))
    chain_scan(w3=evm.w3, exchanges=evm.exchanges, confirmations=0)
    assert list(LeaderTrade.objects.values_list("tx_hash", flat=True)) == [later]


def test_it_retracts_trades_a_reorg_removed_and_flags_those_already_copied(evm: Evm) -> None:
    a, b = make_leader(), make_leader()
    fork = evm.snapshot()
    # Fixed nonce and fees, so the same call after the reorg is the same transaction.
    kept_call = evm.v2.functions.matchOrders(V2Fill(b.address, "SELL", X, D(3), D("1.8")).struct(), [])
    kept_tx: TxParams = {
        "from": evm.operator,
        "gas": 500_000,
        "maxFeePerGas": Wei(10**10),
        "maxPriorityFeePerGas": Wei(10**9),
    }
    kept = evm._mined(kept_call.transact(kept_tx))
    gone_pending = evm.match_v2(V2Fill(a.address, "BUY", X, D(10), D(5)))
    gone_copied = evm.match_v2(V2Fill(b.address, "BUY", Y, D(4), D(2)))
    scan(evm)
    pending = make_copy_trade(make_relationship(leader=a), LeaderTrade.objects.get(tx_hash=gone_pending))
    sent = make_copy_trade(
        make_relationship(leader=b),
        LeaderTrade.objects.get(tx_hash=gone_copied),
        status=CopyTrade.Status.SIGNED,
        order_hash="0x" + "ab" * 32,
    )

    evm.revert(fork)
    evm.mine(3)  # the new branch: different blocks at the heights we scanned …
    readded = evm._mined(kept_call.transact(kept_tx))
    assert readded == kept  # … the same transaction re-included in another block …
    fresh = evm.match_v2(V2Fill(a.address, "SELL", Y, D(1), D("0.3")))  # … and a new fill.
    result = scan(evm)

    status = dict(LeaderTrade.objects.values_list("tx_hash", "status"))
    assert status[gone_pending] == status[gone_copied] == LeaderTrade.Status.RETRACTED
    assert status[kept] != LeaderTrade.Status.RETRACTED
    assert status[fresh] == LeaderTrade.Status.NEW
    assert (result.retracted, result.flagged) == (2, 1)
    assert set(LeaderTrade.objects.filter(flagged=True).values_list("tx_hash", flat=True)) == {gone_copied}
    pending.refresh_from_db()
    sent.refresh_from_db()
    assert (pending.status, pending.reason_code) == (CopyTrade.Status.SKIPPED, "leader_retracted")
    assert sent.status == CopyTrade.Status.SIGNED
    assert LeaderTrade.objects.count() == 4


def test_it_waits_for_the_new_branch_to_outgrow_what_it_scanned_before_retracting(evm: Evm) -> None:
    a = make_leader().address
    fork = evm.snapshot()
    orphan = evm.match_v2(V2Fill(a, "BUY", X, D(1), D("0.5")))
    evm.mine(2)
    scan(evm)
    evm.revert(fork)
    evm.mine(1)  # shorter than what was scanned
    assert scan(evm).reorg_waiting
    assert LeaderTrade.objects.get(tx_hash=orphan).status == LeaderTrade.Status.NEW
    evm.mine(3)
    assert scan(evm).retracted == 1
    assert LeaderTrade.objects.get(tx_hash=orphan).status == LeaderTrade.Status.RETRACTED


def test_a_reorg_shallower_than_the_confirmation_depth_never_reaches_the_database(evm: Evm) -> None:
    a = make_leader().address
    scan(evm, confirmations=2)
    fork = evm.snapshot()
    orphan = evm.match_v2(V2Fill(a, "BUY", X, D(1), D("0.5")))
    assert scan(evm, confirmations=2).new_ids == []
    evm.revert(fork)
    real = evm.match_v2(V2Fill(a, "SELL", X, D(1), D("0.5")))
    evm.mine(2)
    result = scan(evm, confirmations=2)
    assert result.retracted == 0
    assert list(LeaderTrade.objects.values_list("tx_hash", flat=True)) == [real]
    assert orphan != real


def test_it_resumes_from_the_persisted_cursor_after_dying_in_the_middle_of_a_range(evm: Evm) -> None:
    a, b = make_leader().address, make_leader().address
    first = evm.block_number() + 1
    txs = [evm.match_v2(V2Fill(a if i % 2 else b, "BUY", X, D(i + 1), D(i + 1) / 2)) for i in range(8)]
    # Two leaders, one per request, two blocks per range: the 5th eth_getLogs is the first half
    # of the third range. The node dies there, mid-range, after two ranges were committed.
    evm.provider.fail_after_get_logs = 5
    with pytest.raises(ChainUnavailable):
        scan(evm, start_block=first, chunk_blocks=2, leader_batch=1)
    cursor = ChainCursor.objects.get()
    assert cursor.next_block == first + 4
    assert cursor.lease_until is None
    assert LeaderTrade.objects.count() == 4
    assert DetectorState.objects.get(name="chain:polygon").errors == 1

    evm.provider.fail_after_get_logs = None
    scan(evm, chunk_blocks=2, leader_batch=1)  # a new detector, from the persisted cursor
    assert sorted(LeaderTrade.objects.values_list("tx_hash", flat=True)) == sorted(txs)
    assert all(t.legs == 1 for t in LeaderTrade.objects.all())


def test_it_records_fills_older_than_the_freshness_cutoff_as_stale_and_never_fans_them_out(
    evm: Evm, django_capture_on_commit_callbacks: Capture
) -> None:
    a = make_leader().address
    evm.match_v2(V2Fill(a, "BUY", X, D(2), D(1)))
    # The detector was down for an hour: the fill is found, recorded, and not copied.
    with django_capture_on_commit_callbacks() as callbacks, time_machine.travel(timedelta(hours=1), tick=True):
        scan(evm)
    trade = LeaderTrade.objects.get()
    assert (trade.status, trade.reason) == (LeaderTrade.Status.STALE, "stale")
    assert fanned_out_ids(callbacks) == []


def test_two_scanners_never_hold_the_same_cursor_at_once(evm: Evm) -> None:
    scan(evm)
    ChainCursor.objects.update(lease_until=timezone.now() + timedelta(seconds=30))
    assert not scan(evm).leased
