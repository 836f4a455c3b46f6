"""The Data API poller against the simulated venue's Data API over HTTP (127.0.0.1 only)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from copytrading.detection.budget import BudgetExhausted, RequestBudget
from copytrading.detection.data_api import DataApiClient, DataApiUnavailable, leader_poll
from copytrading.detection.service import detection_poll
from copytrading.models import DetectorState, LeaderTrade, WatchedWallet
from execution.simulator import VenueSimulator
from tests.copytrading.detection.helpers import fanned_out_ids
from tests.factories import TOKEN_NO, TOKEN_YES, make_leader, random_address, random_tx_hash

pytestmark = pytest.mark.django_db
Capture = Callable[..., Any]
D = Decimal
MARKET = {
    "condition_id": "0x" + "5c" * 32,
    "tokens": [{"token_id": TOKEN_YES, "outcome": "Yes"}, {"token_id": TOKEN_NO, "outcome": "No"}],
    "tick_size": "0.01",
}


@pytest.fixture
def sim() -> Iterator[VenueSimulator]:
    with VenueSimulator({"markets": [MARKET]}) as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(sim: VenueSimulator, waits: list[float]) -> Iterator[DataApiClient]:
    """A client of the simulator's Data API that records its backoffs instead of sleeping them."""
    api = DataApiClient(base_url=sim.url, sleep=waits.append)
    yield api
    api.close()


def now_s() -> int:
    return int(time.time())


def inject(sim: VenueSimulator, wallet: str, **kw: Any) -> str:
    tx = kw.pop("transaction_hash", None) or random_tx_hash()
    sim.inject_leader_trade(
        wallet,
        kw.pop("token_id", TOKEN_YES),
        kw.pop("side", "BUY"),
        kw.pop("size", "10"),
        kw.pop("price", "0.5"),
        transaction_hash=tx,
        **kw,
    )
    return tx


def test_it_records_the_leaders_resting_order_fills_too(sim: VenueSimulator, client: DataApiClient) -> None:
    leader = make_leader()
    taker = inject(sim, leader.address, taker=True)
    maker = inject(sim, leader.address, taker=False, side="SELL", token_id=TOKEN_NO)
    inject(sim, random_address())  # somebody else
    result = leader_poll(wallet_id=leader.id, client=client)
    assert result.record is not None
    assert len(result.record.new_ids) == 2
    assert set(LeaderTrade.objects.values_list("tx_hash", "source")) == {(taker, "data_api"), (maker, "data_api")}
    trade = LeaderTrade.objects.get(tx_hash=maker)
    assert (trade.side, trade.token_id, trade.shares, trade.price, trade.usdc) == (
        "SELL",
        TOKEN_NO,
        D(10),
        D("0.5"),
        D(5),
    )
    assert trade.condition_id == MARKET["condition_id"]


def test_trades_sharing_the_cursor_second_are_neither_missed_nor_decided_again(
    sim: VenueSimulator, client: DataApiClient, django_capture_on_commit_callbacks: Capture
) -> None:
    leader = make_leader()
    second = now_s()
    first = inject(sim, leader.address, timestamp=second)
    leader_poll(wallet_id=leader.id, client=client)
    leader.refresh_from_db()
    assert (leader.data_api_cursor_ts, leader.data_api_cursor_txs) == (second, [first])

    later = inject(sim, leader.address, timestamp=second, side="SELL")  # same second, after the poll
    # A restart: a new client, the cursor read back from the database.
    restarted = DataApiClient(base_url=sim.url, sleep=lambda s: None)
    with django_capture_on_commit_callbacks() as callbacks:
        result = leader_poll(wallet_id=leader.id, client=restarted)
        again = leader_poll(wallet_id=leader.id, client=restarted)
    restarted.close()
    assert (result.rows_seen, result.rows_new, again.rows_new) == (2, 1, 0)
    assert fanned_out_ids(callbacks) == [LeaderTrade.objects.get(tx_hash=later).id]
    assert LeaderTrade.objects.count() == 2
    leader.refresh_from_db()
    assert sorted(leader.data_api_cursor_txs) == sorted([first, later])


def test_it_pages_until_it_reaches_the_cursor(sim: VenueSimulator, client: DataApiClient) -> None:
    leader = make_leader()
    start = now_s() - 60
    inject(sim, leader.address, timestamp=start)
    leader_poll(wallet_id=leader.id, client=client)
    new = [inject(sim, leader.address, timestamp=start + 1 + i, size=str(5 + i)) for i in range(7)]
    result = leader_poll(wallet_id=leader.id, client=client, limit=3)
    assert (result.pages, result.rows_new) == (3, 7)
    assert set(new) <= set(LeaderTrade.objects.values_list("tx_hash", flat=True))
    assert LeaderTrade.objects.count() == 8


def test_a_first_poll_takes_only_fresh_trades_and_places_the_cursor(sim: VenueSimulator, client: DataApiClient) -> None:
    leader = make_leader()
    inject(sim, leader.address, timestamp=now_s() - 3600)
    fresh = inject(sim, leader.address, timestamp=now_s() - 5)
    leader_poll(wallet_id=leader.id, client=client)
    assert list(LeaderTrade.objects.values_list("tx_hash", flat=True)) == [fresh]


def test_trades_missed_while_down_are_recorded_stale_and_never_fanned_out(
    sim: VenueSimulator, client: DataApiClient, django_capture_on_commit_callbacks: Capture
) -> None:
    leader = make_leader()
    inject(sim, leader.address, timestamp=now_s() - 1000)
    leader_poll(wallet_id=leader.id, client=client)  # the cursor, then an outage
    missed = inject(sim, leader.address, timestamp=now_s() - 500)
    with django_capture_on_commit_callbacks() as callbacks:
        leader_poll(wallet_id=leader.id, client=client)
    trade = LeaderTrade.objects.get(tx_hash=missed)
    assert (trade.status, trade.reason) == ("stale", "stale")
    assert fanned_out_ids(callbacks) == []


def test_it_backs_off_on_429_honouring_retry_after(
    sim: VenueSimulator, client: DataApiClient, waits: list[float]
) -> None:
    leader = make_leader()
    inject(sim, leader.address)
    sim.add_fault("rate_limit", "GET /trades", count=2, retry_after_s=2)
    result = leader_poll(wallet_id=leader.id, client=client)
    assert result.rows_new == 1
    assert waits == [2.0, 2.0]


def test_a_persistent_5xx_leaves_the_cursor_and_releases_the_lease(
    sim: VenueSimulator, client: DataApiClient, waits: list[float]
) -> None:
    leader = make_leader()
    inject(sim, leader.address)
    sim.add_fault("error_before", "GET /trades", count=None, status=503)
    with pytest.raises(DataApiUnavailable):
        leader_poll(wallet_id=leader.id, client=client)
    assert len(waits) == 3  # four attempts, full-jitter backoff between them
    leader.refresh_from_db()
    assert (leader.data_api_cursor_ts, leader.poll_lease_until) == (None, None)
    assert leader.data_api_polled_at is not None
    assert detection_poll(wallet_id=leader.id, client=client) is None  # logged, not raised
    state = DetectorState.objects.get(name="data_api")
    assert "DataApiUnavailable" in state.last_error
    sim.clear_faults()
    assert leader_poll(wallet_id=leader.id, client=client).rows_new == 1


def test_the_request_budget_is_shared_through_the_rate_limit_backend() -> None:
    key = f"test-budget-{uuid.uuid4()}"
    one, other = (
        RequestBudget(key=key, name="test", limit=2, window_seconds=10, sleep=lambda s: None) for _ in range(2)
    )
    one.take(max_wait=0)
    other.take(max_wait=0)
    with pytest.raises(BudgetExhausted):
        one.take(max_wait=0)


@pytest.mark.django_db(transaction=True)
def test_the_poll_actor_records_through_a_real_worker(sim: VenueSimulator, broker: Any, worker: Any) -> None:
    from copytrading.detection.actors import poll_leader

    leader = make_leader()
    tx = inject(sim, leader.address)
    with override_settings(POLYMARKET_DATA_URL=sim.url):
        poll_leader.send(leader.id)
        broker.join(poll_leader.queue_name, timeout=30_000)
        worker.join()
    assert LeaderTrade.objects.get().tx_hash == tx
    assert WatchedWallet.objects.get(id=leader.id).data_api_cursor_ts is not None


def test_run_detectors_once_polls_every_due_leader_once(sim: VenueSimulator) -> None:
    leaders = [make_leader() for _ in range(3)]
    for leader in leaders:
        WatchedWallet.objects.filter(id=leader.id).update(data_api_cursor_ts=1)
        inject(sim, leader.address)
    out = StringIO()
    with override_settings(POLYMARKET_DATA_URL=sim.url, POLYGON_RPC_URL=""):
        call_command("run_detectors", "--once", stdout=out)
        call_command("run_detectors", "--once", stdout=out)
    assert out.getvalue().splitlines() == [
        "3 leaders polled, 3 new trades, next block None",
        "0 leaders polled, 0 new trades, next block None",
    ]
    assert LeaderTrade.objects.count() == 3
