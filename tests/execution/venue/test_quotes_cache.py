"""Book and market caches: one in-flight fetch per key shared by real threads, TTL, bounded LRU."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from execution.venue.cache import SingleFlightCache
from execution.venue.errors import VenueUnavailable
from execution.venue.polymarket import PolymarketGateway
from tests.execution.venue.conftest import CONDITION, venue_settings
from tests.execution.venue.localserver import LocalVenue, Reply, Request
from tests.factories import TOKEN_NO, TOKEN_YES


def _book_reply(delay: float = 0.0) -> Callable[[Request], Reply]:
    def answer(request: Request) -> Reply:
        token = request.query["token_id"][0]
        return Reply(
            body={
                "market": CONDITION,
                "asset_id": token,
                "timestamp": str(int(time.time() * 1000)),
                "hash": "h",
                "bids": [{"price": "0.48", "size": "30"}, {"price": "0.5", "size": "15"}],
                "asks": [{"price": "0.54", "size": "10"}, {"price": "0.52", "size": "25"}],
                "min_order_size": "5",
                "tick_size": "0.01",
                "neg_risk": False,
                "last_trade_price": "0.51",
            },
            delay=delay,
        )

    return answer


def _gateway(venue: LocalVenue, **options: Any) -> PolymarketGateway:
    return PolymarketGateway(venue_settings(venue.url, read="2"), record_health=False, **options)


def _in_threads(count: int, work: Callable[[], object]) -> list[object]:
    results: list[object] = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = work()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return results


def test_concurrent_callers_share_one_book_fetch_per_token(local_venue: LocalVenue) -> None:
    local_venue.route("GET", "/book", _book_reply(delay=0.3))
    gateway = _gateway(local_venue)
    books = _in_threads(24, lambda: gateway.book(TOKEN_YES))
    assert local_venue.hits["/book"] == 1
    assert all(book == books[0] for book in books)
    assert books[0].best_ask == Decimal("0.52")  # type: ignore[attr-defined]
    assert books[0].best_bid == Decimal("0.5")  # type: ignore[attr-defined]
    # Another token is another fetch; the cached one is not fetched again.
    _in_threads(8, lambda: (gateway.book(TOKEN_NO), gateway.book(TOKEN_YES)))
    assert local_venue.hits["/book"] == 2


def test_a_book_is_fetched_again_once_its_ttl_has_passed(local_venue: LocalVenue) -> None:
    local_venue.route("GET", "/book", _book_reply())
    gateway = _gateway(local_venue, book_ttl_seconds=0.2)
    gateway.book(TOKEN_YES)
    gateway.book(TOKEN_YES)
    assert local_venue.hits["/book"] == 1
    time.sleep(0.25)
    gateway.book(TOKEN_YES)
    assert local_venue.hits["/book"] == 2


def test_books_may_not_be_cached_longer_than_five_seconds(local_venue: LocalVenue) -> None:
    with pytest.raises(ValueError, match="at most"):
        _gateway(local_venue, book_ttl_seconds=5.5)


def test_a_failed_fetch_is_shared_by_its_waiters_and_not_cached(local_venue: LocalVenue) -> None:
    local_venue.route("GET", "/book", Reply(status=500, body={"error": "Internal server error"}, delay=0.3))
    gateway = _gateway(local_venue)
    outcomes = _in_threads(10, lambda: gateway.book(TOKEN_YES))
    assert local_venue.hits["/book"] == 1
    assert all(isinstance(outcome, VenueUnavailable) for outcome in outcomes)
    local_venue.route("GET", "/book", _book_reply())
    assert gateway.book(TOKEN_YES).best_bid == Decimal("0.5")
    assert local_venue.hits["/book"] == 2


def test_the_cache_is_a_bounded_lru() -> None:
    cache: SingleFlightCache[int, int] = SingleFlightCache(ttl_seconds=60, max_entries=3)
    for key in range(10):
        cache.get(key, partial(int, key * 10))
    assert len(cache) == 3
    assert cache.peek(9) == 90
    assert cache.peek(0) is None
    cache.get(7, lambda: -1)  # touch 7: now 8 is the oldest
    cache.get(11, lambda: 110)
    assert cache.peek(8) is None
    assert cache.peek(7) == 70


def test_the_gateway_book_cache_is_bounded(local_venue: LocalVenue) -> None:
    local_venue.route("GET", "/book", _book_reply())
    gateway = _gateway(local_venue, max_books=2)
    for token in (TOKEN_YES, TOKEN_NO, "7" * 77):
        gateway.book(token)
    assert len(gateway._books) == 2


def _market_routes(venue: LocalVenue, *, mos: object = 5, accepting: bool = True) -> None:
    venue.route("GET", f"/markets-by-token/{TOKEN_YES}", Reply(body={"condition_id": CONDITION}))
    venue.route("GET", f"/markets-by-token/{TOKEN_NO}", Reply(body={"condition_id": CONDITION}))
    body: dict[str, object] = {
        "t": [{"t": TOKEN_YES, "o": "Yes"}, {"t": TOKEN_NO, "o": "No"}],
        "mts": 0.001,
        "fd": {"r": 0.072, "e": 1, "to": True},
        "nr": True,
    }
    if mos is not None:
        body["mos"] = mos
    venue.route("GET", f"/clob-markets/{CONDITION}", Reply(body=body, delay=0.2))
    venue.route("GET", f"/markets/{CONDITION}", Reply(body={"condition_id": CONDITION, "accepting_orders": accepting}))


def test_market_info_is_fetched_once_for_concurrent_callers_and_cached(local_venue: LocalVenue) -> None:
    _market_routes(local_venue)
    gateway = _gateway(local_venue)
    infos = _in_threads(16, lambda: gateway.market_info(TOKEN_YES))
    info = infos[0]
    assert all(other == info for other in infos)
    assert info.tick_size == Decimal("0.001")  # type: ignore[attr-defined]
    assert info.neg_risk is True  # type: ignore[attr-defined]
    assert info.min_order_size == Decimal(5)  # type: ignore[attr-defined]
    assert info.accepting_orders is True  # type: ignore[attr-defined]
    assert info.fees.rate == Decimal("0.072")  # type: ignore[attr-defined]
    assert gateway.market_info(TOKEN_NO) == info
    assert local_venue.hits[f"/clob-markets/{CONDITION}"] == 1
    assert local_venue.hits[f"/markets/{CONDITION}"] == 1
    gateway.forget_market(TOKEN_YES)
    gateway.market_info(TOKEN_YES)
    assert local_venue.hits[f"/clob-markets/{CONDITION}"] == 2
    assert local_venue.hits[f"/markets-by-token/{TOKEN_YES}"] == 1


def test_without_mos_the_minimum_size_comes_from_the_book(local_venue: LocalVenue) -> None:
    _market_routes(local_venue, mos=None, accepting=False)
    local_venue.route("GET", "/book", _book_reply())
    info = _gateway(local_venue).market_info(TOKEN_YES)
    assert info.min_order_size == Decimal(5)
    assert info.accepting_orders is False


def test_an_unknown_accepting_state_does_not_block_market_info(local_venue: LocalVenue) -> None:
    _market_routes(local_venue)
    local_venue.route("GET", f"/markets/{CONDITION}", Reply(status=404, body={"error": "market not found"}))
    assert _gateway(local_venue).market_info(TOKEN_YES).accepting_orders is None
