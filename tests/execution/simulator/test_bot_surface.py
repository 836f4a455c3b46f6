"""The rest of the CLOB surface a third-party bot calls, driven through polymarket-client 0.14.0
(unchanged but for its hosts) wherever it has the call, and over plain HTTP where it has none."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest
from polymarket import SecureClient
from polymarket.errors import OrderHeartbeatMismatchError, RequestRejectedError
from polymarket.models.clob import AcceptedOrder, PriceRequest

from execution.simulator import VenueSimulator

from .support import ADDR0, CID, NO, NR_CID, PK0, YES, ShiftedClock
from .test_official_client import client, clock, local_environment, served

__all__ = ["client", "clock", "served"]


def wait_until(check: object, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def rest(client: SecureClient, token_id: str, price: str) -> str:
    """A resting BUY of 10 shares; its order id."""
    answer = client.post_order(client.create_limit_order(token_id=token_id, side="BUY", price=Decimal(price), size=10))
    assert isinstance(answer, AcceptedOrder)
    return answer.order_id


def buy_at_market(client: SecureClient, amount: str = "5.7") -> str:
    order = client.create_market_order(token_id=YES, side="BUY", amount=Decimal(amount), order_type="FAK")
    answer = client.post_order(order)
    assert isinstance(answer, AcceptedOrder)
    return answer.order_id


def test_prices_in_bulk_spreads_and_midpoints(served: VenueSimulator, client: SecureClient) -> None:
    assert client.get_midpoints(token_ids=[YES]) == {YES: Decimal("0.56")}
    assert client.get_spread(token_id=YES) == Decimal("0.02")
    assert client.get_spreads(token_ids=[YES]) == {YES: Decimal("0.02")}
    prices = client.get_prices(requests=[PriceRequest(YES, "BUY"), PriceRequest(YES, "SELL")])
    assert prices == {YES: {"BUY": Decimal("0.55"), "SELL": Decimal("0.57")}}


def test_last_trade_prices_appear_once_a_token_traded(served: VenueSimulator, client: SecureClient) -> None:
    assert client.get_last_trade_price(token_id=YES) is None
    assert client.get_last_trade_prices(token_ids=[YES, NO]) == ()
    buy_at_market(client)
    last = client.get_last_trade_price(token_id=YES)
    assert last is not None
    assert (last.price, last.side) == (Decimal("0.57"), "BUY")
    (only,) = client.get_last_trade_prices(token_ids=[YES, NO])
    assert (only.asset_id, only.price, only.side) == (YES, Decimal("0.57"), "BUY")


def test_price_history_from_the_trades(served: VenueSimulator, client: SecureClient) -> None:
    buy_at_market(client)
    now = int(time.time())
    points = list(client.list_price_history(asset_id=YES, start=now - 3600).iter_items())
    assert [p.price for p in points] == [Decimal("0.57")]
    clob = httpx.get(f"{served.url}/prices-history", params={"market": YES, "interval": "1d"}).json()
    assert [point["p"] for point in clob["history"]] == [0.57]
    assert abs(clob["history"][0]["t"] - now) <= 5


def test_market_listings_page_with_the_clob_cursor(served: VenueSimulator) -> None:
    for path in ("/markets", "/simplified-markets", "/sampling-markets", "/sampling-simplified-markets"):
        page = httpx.get(served.url + path).json()
        assert page["next_cursor"] == "LTE=", path
        assert page["count"] == len(page["data"]) == 2, path
        assert {m["condition_id"] for m in page["data"]} == {CID, NR_CID}, path
        assert all("tokens" in m and "accepting_orders" in m for m in page["data"]), path
    served.set_market(CID, accepting_orders=False)
    sampling = httpx.get(served.url + "/sampling-markets").json()
    assert CID not in {m["condition_id"] for m in sampling["data"]}


def test_a_silent_heartbeat_cancels_every_open_order_of_the_key(
    served: VenueSimulator, client: SecureClient, clock: ShiftedClock
) -> None:
    resting = rest(client, YES, "0.50")
    first = client.send_order_heartbeat()
    second = client.send_order_heartbeat(heartbeat_id=first.heartbeat_id)
    with pytest.raises(OrderHeartbeatMismatchError) as stale:
        client.send_order_heartbeat(heartbeat_id=first.heartbeat_id)
    assert stale.value.heartbeat_id == second.heartbeat_id
    clock.offset = 9  # within the 10 s: still armed
    time.sleep(0.2)
    assert served.order(resting)["status"] == "LIVE"  # type: ignore[index]
    clock.offset = 11
    wait_until(lambda: served.order(resting)["status"] == "CANCELED")  # type: ignore[index]
    # Expiry removed the registration: the next heartbeat starts again from an empty id.
    assert client.send_order_heartbeat().heartbeat_id


def test_cancel_market_orders_cancels_only_that_market(served: VenueSimulator, client: SecureClient) -> None:
    yes = rest(client, YES, "0.50")
    no = rest(client, NO, "0.30")
    canceled = client.cancel_market_orders(asset_id=YES)
    assert list(canceled.canceled) == [yes]
    assert served.order(no)["status"] == "LIVE"  # type: ignore[index]
    assert list(client.cancel_market_orders(market=CID).canceled) == [no]


def test_closed_only_status_follows_the_restriction(served: VenueSimulator, client: SecureClient) -> None:
    assert client.get_closed_only_mode() is False
    served.set_restriction(ADDR0, "closed_only")
    assert client.get_closed_only_mode() is True


def test_notifications_show_fills_and_cancels_and_can_be_dropped(served: VenueSimulator, client: SecureClient) -> None:
    buy_at_market(client)
    resting = rest(client, YES, "0.50")
    client.cancel_order(order_id=resting)
    notes = client.get_notifications()
    assert sorted(int(n.type) for n in notes) == [1, 2]
    cancel = next(n for n in notes if int(n.type) == 1)
    assert cancel.payload.order_id == resting  # type: ignore[union-attr]
    client.drop_notifications(ids=[cancel.id])
    assert [int(n.type) for n in client.get_notifications()] == [2]


def test_order_scoring_says_whether_the_order_rests(served: VenueSimulator, client: SecureClient) -> None:
    resting = rest(client, YES, "0.50")
    assert client.get_order_scoring(order_id=resting) is True
    assert client.get_orders_scoring(order_ids=[resting]) == {resting: True}
    client.cancel_order(order_id=resting)
    assert client.get_order_scoring(order_id=resting) is False


def test_unknown_paths_answer_json(served: VenueSimulator) -> None:
    response = httpx.get(served.url + "/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}
    assert httpx.put(served.url + "/book").json() == {"error": "Method Not Allowed"}


def test_the_fee_rate_is_the_markets(served: VenueSimulator) -> None:
    assert httpx.get(served.url + "/fee-rate", params={"token_id": YES}).json() == {"base_fee": 0}
    served.set_market(CID, fee_rate="0.072")
    assert httpx.get(served.url + "/fee-rate", params={"token_id": YES}).json() == {"base_fee": 720}


def test_a_balance_refusal_names_the_order_amount(served: VenueSimulator, client: SecureClient) -> None:
    served.set_balance(ADDR0, pusd="2")
    order = client.create_limit_order(token_id=YES, side="BUY", price=Decimal("0.50"), size=10)
    with pytest.raises(RequestRejectedError) as refused:
        client.post_order(order)
    assert str(refused.value) == (
        "not enough balance / allowance: the balance is not enough -> balance: 2000000, order amount: 5000000"
    )


def test_a_market_buy_never_shows_more_matched_than_its_size(served: VenueSimulator, client: SecureClient) -> None:
    order_id = buy_at_market(client, amount="10")
    shown = client.get_order(order_id=order_id)
    assert shown.size_matched > 0
    assert shown.size_matched <= shown.original_size


def test_a_deleted_api_key_never_comes_back_with_the_same_secret(served: VenueSimulator, client: SecureClient) -> None:
    old = client.credentials
    client.delete_api_key()
    again = SecureClient.create(private_key=PK0, wallet=ADDR0, environment=local_environment(served.url))
    try:
        new = again.credentials
        assert new.key != old.key
        assert new.secret != old.secret
        assert new.passphrase != old.passphrase
        assert again.fetch_api_keys() == (new.key,)
    finally:
        again.close()
