"""The matching engine: price-time priority, order types, fees, balances, liquidity modes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.simulator import HOUSE_WALLET, ApiCredentials, Venue
from execution.simulator.errors import VenueError

from .support import ADDR0, ADDR1, PK0, PK1, YES, Clock, body, limit_amounts, sign_order


def order(side: str, price: str, shares: str, *, key: str = PK0, **kwargs: object) -> dict[str, object]:
    maker_amount, taker_amount = limit_amounts(side, price, shares)
    return sign_order(key, token_id=YES, side=side, maker_amount=maker_amount, taker_amount=taker_amount, **kwargs)  # type: ignore[arg-type]


def market_buy(dollars: str, max_price: str, *, key: str = PK0) -> dict[str, object]:
    """A protected market BUY as the SDK builds it: spend `dollars`, at most `max_price`."""
    maker_amount = int(Decimal(dollars) * 1_000_000)
    taker_amount = int(Decimal(dollars) / Decimal(max_price) * 10_000) * 100  # shares floored to 4 decimals
    return sign_order(key, token_id=YES, side="BUY", maker_amount=maker_amount, taker_amount=taker_amount)


def market_sell(shares: str, min_price: str, *, key: str = PK0) -> dict[str, object]:
    maker_amount = int(Decimal(shares) * 1_000_000)
    taker_amount = int(Decimal(shares) * Decimal(min_price) * 10_000) * 100
    return sign_order(key, token_id=YES, side="SELL", maker_amount=maker_amount, taker_amount=taker_amount)


def refusal(venue: Venue, payload: object, creds: ApiCredentials) -> str:
    with pytest.raises(VenueError) as caught:
        venue.place(payload, creds)
    return caught.value.message


def levels(venue: Venue, side: str) -> list[tuple[str, str]]:
    book = venue.book(YES)[side]
    assert isinstance(book, list)
    return [(level["price"], level["size"]) for level in book]


@pytest.fixture
def two(venue: Venue) -> tuple[ApiCredentials, ApiCredentials]:
    venue.set_balance(ADDR1, pusd="1000", shares={YES: "500"})
    venue.set_balance(ADDR0, pusd="1000", shares={YES: "500"})
    return venue.credentials(ADDR0), venue.credentials(ADDR1)


def test_it_rests_a_limit_order_that_does_not_cross(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_book(YES, bids=[("0.40", "100")], asks=[("0.60", "100")])
    assert venue.place(body(order("BUY", "0.50", "10"), creds0.key), creds0)["status"] == "live"
    assert levels(venue, "bids") == [("0.4", "100"), ("0.5", "10")]
    assert levels(venue, "asks") == [("0.6", "100")]


def test_it_fills_a_crossing_limit_buy_at_the_resting_price_and_rests_the_rest(
    venue: Venue, creds0: ApiCredentials
) -> None:
    venue.set_book(YES, asks=[("0.55", "4"), ("0.60", "100")], replenish=False)
    answer = venue.place(body(order("BUY", "0.57", "10"), creds0.key), creds0)
    assert answer["status"] == "matched"
    # 4 shares at 0.55 (price improvement goes to the taker); 6 rest at 0.57.
    assert (answer["makingAmount"], answer["takingAmount"]) == ("2.2", "4")
    assert levels(venue, "bids") == [("0.57", "6")]
    assert levels(venue, "asks") == [("0.6", "100")]
    assert venue.balances(ADDR0)["pusd"] == Decimal("997.8")


def test_it_matches_better_prices_first_then_older_orders_first(
    venue: Venue, two: tuple[ApiCredentials, ApiCredentials]
) -> None:
    creds0, creds1 = two
    first = venue.place(body(order("SELL", "0.55", "5", key=PK1), creds1.key), creds1)["orderID"]
    second = venue.place(body(order("SELL", "0.55", "5", key=PK1), creds1.key), creds1)["orderID"]
    better = venue.place(body(order("SELL", "0.54", "5", key=PK1), creds1.key), creds1)["orderID"]
    answer = venue.place(body(order("BUY", "0.55", "8"), creds0.key), creds0)
    fills = {t["maker_order_id"]: t["size"] for t in venue.trades() if t["taker_order_id"] == answer["orderID"]}
    assert fills == {better: Decimal(5), first: Decimal(3)}
    remaining = {o["id"]: o["size_matched"] for o in venue.orders(maker=ADDR1)}
    assert remaining[second] == "0"


def test_it_kills_a_fok_order_that_cannot_fill_entirely_and_changes_nothing(
    venue: Venue, creds0: ApiCredentials
) -> None:
    venue.set_book(YES, asks=[("0.55", "10")], replenish=False)
    before = venue.balances(ADDR0)
    payload = body(market_buy("10", "0.56"), creds0.key, "FOK")
    assert refusal(venue, payload, creds0) == "order couldn't be fully filled. FOK orders are fully filled or killed."
    assert venue.balances(ADDR0) == before
    assert levels(venue, "asks") == [("0.55", "10")]
    assert venue.orders() == []


def test_it_fills_a_fok_order_entirely_when_it_can(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_book(YES, asks=[("0.50", "10"), ("0.55", "100")], replenish=False)
    answer = venue.place(body(market_buy("10", "0.56"), creds0.key, "FOK"), creds0)
    assert answer["status"] == "matched"
    # $5 buys 10 shares at 0.50, the other $5 buys 9.090909 at 0.55.
    assert answer["makingAmount"] == "9.999999"
    assert answer["takingAmount"] == "19.090909"


def test_it_fills_what_it_can_of_a_fak_order_and_drops_the_rest(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_book(YES, asks=[("0.50", "10"), ("0.60", "100")], replenish=False)
    answer = venue.place(body(market_buy("25", "0.57"), creds0.key, "FAK"), creds0)
    assert (answer["status"], answer["makingAmount"], answer["takingAmount"]) == ("matched", "5", "10")
    assert len(answer["tradeIDs"]) == 1  # type: ignore[arg-type]
    assert levels(venue, "bids") == []
    placed = venue.order(str(answer["orderID"]))
    assert placed is not None
    assert placed["status"] == "MATCHED"


def test_it_refuses_a_fak_order_that_finds_nothing_with_the_real_message(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_book(YES, asks=[("0.60", "100")])
    assert refusal(venue, body(market_buy("25", "0.57"), creds0.key, "FAK"), creds0) == (
        "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
    )


def test_it_respects_the_exact_signed_ratio_of_a_protected_buy(venue: Venue, creds0: ApiCredentials) -> None:
    # $1 at max 0.57 floors to 1.7543 shares: the implied price 0.570028... still reaches an ask at 0.57.
    venue.set_book(YES, asks=[("0.57", "100")])
    assert venue.place(body(market_buy("1", "0.57"), creds0.key, "FAK"), creds0)["status"] == "matched"


def test_it_charges_the_taker_fee_on_top_of_a_buy_and_nothing_to_the_maker(
    venue: Venue, two: tuple[ApiCredentials, ApiCredentials]
) -> None:
    creds0, creds1 = two
    venue.set_market(venue.market(YES).condition_id, fee_rate="0.072")
    venue.place(body(order("SELL", "0.80", "10", key=PK1), creds1.key), creds1)
    venue.place(body(order("BUY", "0.80", "10"), creds0.key), creds0)
    # 10 * 0.072 * 0.8 * 0.2 = 0.1152 (an on-chain worked example).
    assert venue.balances(ADDR0)["pusd"] == Decimal("1000") - Decimal("8") - Decimal("0.1152")
    assert venue.balances(ADDR1)["pusd"] == Decimal("1008")
    assert [t["fee"] for t in venue.trades()] == [Decimal("0.1152")]
    assert venue.state()["fees_collected"] == Decimal("0.1152")


def test_it_takes_the_fee_out_of_a_sells_proceeds(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_market(venue.market(YES).condition_id, fee_rate="0.072")
    venue.set_balance(ADDR0, pusd="0", shares={YES: "10"})
    venue.set_book(YES, bids=[("0.80", "100")])
    answer = venue.place(body(market_sell("10", "0.79"), creds0.key, "FAK"), creds0)
    assert (answer["makingAmount"], answer["takingAmount"]) == ("10", "8")
    assert venue.balances(ADDR0) == {"pusd": Decimal("7.8848"), "shares": {}, "approved": True}


def test_it_floors_the_fee_to_five_decimals() -> None:
    from execution.simulator.engine import taker_fee
    from execution.simulator.models import Market, Outcome

    market = Market("0x" + "00" * 32, (Outcome(YES, "Yes"),), fee_rate=Decimal("0.072"))
    # 1.234567 * 0.072 * 0.57 * 0.43 = 0.02178669..., floored to 0.02178.
    assert taker_fee(1_234_567, 5700, market) == 21_780


def test_it_refuses_an_order_the_wallet_cannot_fund(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_balance(ADDR0, pusd="4")
    message = refusal(venue, body(order("BUY", "0.50", "10"), creds0.key), creds0)
    assert message.startswith("not enough balance / allowance")
    venue.set_balance(ADDR0, pusd="5")
    assert venue.place(body(order("BUY", "0.50", "10"), creds0.key), creds0)["success"] is True
    # The resting order holds the $5: a second one has nothing left to spend.
    assert refusal(venue, body(order("BUY", "0.50", "10"), creds0.key), creds0).startswith(
        "not enough balance / allowance"
    )


def test_it_refuses_to_sell_shares_the_wallet_does_not_hold(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_balance(ADDR0, shares={YES: "9.99"})
    assert refusal(venue, body(order("SELL", "0.50", "10"), creds0.key), creds0).startswith(
        "not enough balance / allowance"
    )


def test_it_refuses_everything_from_a_wallet_without_allowance(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_allowance(ADDR0, approved=False)
    assert refusal(venue, body(order("BUY", "0.50", "10"), creds0.key), creds0).startswith(
        "not enough balance / allowance"
    )


def test_it_moves_balances_between_both_sides_of_a_match(
    venue: Venue, two: tuple[ApiCredentials, ApiCredentials]
) -> None:
    creds0, creds1 = two
    venue.place(body(order("BUY", "0.40", "20"), creds0.key), creds0)
    venue.place(body(market_sell("20", "0.40", key=PK1), creds1.key, "FAK"), creds1)
    assert venue.balances(ADDR0) == {"pusd": Decimal(992), "shares": {YES: Decimal(520)}, "approved": True}
    assert venue.balances(ADDR1) == {"pusd": Decimal(1008), "shares": {YES: Decimal(480)}, "approved": True}


def test_it_refills_a_replenishing_book_and_drains_a_depleting_one(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_book(YES, asks=[("0.50", "10")], replenish=True)
    for _ in range(3):
        venue.place(body(market_buy("5", "0.50"), creds0.key, "FAK"), creds0)
    assert levels(venue, "asks") == [("0.5", "10")]
    venue.set_book(YES, asks=[("0.50", "10")], replenish=False)
    venue.place(body(market_buy("5", "0.50"), creds0.key, "FAK"), creds0)
    assert levels(venue, "asks") == []
    assert venue.balances(HOUSE_WALLET)["pusd"] == 0  # the house never moves


def test_it_refuses_a_post_only_order_that_would_take(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_book(YES, asks=[("0.55", "10")])
    crossing = body(order("BUY", "0.55", "10"), creds0.key, post_only=True)
    assert refusal(venue, crossing, creds0) == "invalid post-only order: order crosses book"
    resting = body(order("BUY", "0.54", "10"), creds0.key, post_only=True)
    assert venue.place(resting, creds0)["status"] == "live"


def test_it_cancels_a_gtd_order_when_it_expires(venue: Venue, creds0: ApiCredentials, clock: Clock) -> None:
    expiration = int(clock.now) + 120
    answer = venue.place(body(order("BUY", "0.50", "10", expiration=expiration), creds0.key, "GTD"), creds0)
    clock.advance(121)
    expired = venue.order(str(answer["orderID"]))
    assert expired is not None
    assert expired["status"] == "CANCELED"
    assert levels(venue, "bids") == []


def test_it_holds_marketable_orders_for_the_taker_delay(venue: Venue, creds0: ApiCredentials, clock: Clock) -> None:
    venue.set_market(venue.market(YES).condition_id, taker_delay_ms=250)
    venue.set_book(YES, asks=[("0.50", "100")])
    answer = venue.place(body(market_buy("5", "0.50"), creds0.key, "FAK"), creds0)
    assert (answer["status"], answer["makingAmount"], answer["tradeIDs"]) == ("delayed", "", [])
    held = venue.order(str(answer["orderID"]))
    assert held is not None
    assert held["status"] == "DELAYED"
    clock.advance(0.3)
    done = venue.order(str(answer["orderID"]))
    assert done is not None
    assert (done["status"], done["size_matched"]) == ("MATCHED", "10")


def test_it_ends_a_delayed_fak_that_found_nothing_as_unmatched(
    venue: Venue, creds0: ApiCredentials, clock: Clock
) -> None:
    venue.set_market(venue.market(YES).condition_id, taker_delay_ms=250)
    venue.set_book(YES, asks=[("0.50", "100")])
    answer = venue.place(body(market_buy("5", "0.50"), creds0.key, "FAK"), creds0)
    venue.set_book(YES, asks=[])
    clock.advance(0.3)
    done = venue.order(str(answer["orderID"]))
    assert done is not None
    assert done["status"] == "UNMATCHED"
    assert venue.balances(ADDR0)["pusd"] == Decimal(1000)


def test_it_cancels_only_the_api_keys_own_open_orders(venue: Venue, two: tuple[ApiCredentials, ApiCredentials]) -> None:
    creds0, creds1 = two
    mine = str(venue.place(body(order("BUY", "0.40", "10"), creds0.key), creds0)["orderID"])
    theirs = str(venue.place(body(order("BUY", "0.40", "10", key=PK1), creds1.key), creds1)["orderID"])
    answer = venue.cancel([mine, theirs], creds0)
    assert answer == {
        "canceled": [mine],
        "not_canceled": {theirs: "order can't be found - already canceled or matched"},
    }
    assert levels(venue, "bids") == [("0.4", "10")]


def test_it_skips_and_cancels_a_resting_order_whose_maker_can_no_longer_pay(
    venue: Venue, two: tuple[ApiCredentials, ApiCredentials]
) -> None:
    creds0, creds1 = two
    stale = str(venue.place(body(order("SELL", "0.50", "10", key=PK1), creds1.key), creds1)["orderID"])
    venue.set_balance(ADDR1, shares={YES: "0"})
    venue.set_book(YES, asks=[("0.60", "100")])
    answer = venue.place(body(market_buy("6", "0.60"), creds0.key, "FAK"), creds0)
    assert answer["takingAmount"] == "10"
    cancelled = venue.order(stale)
    assert cancelled is not None
    assert cancelled["status"] == "CANCELED"


def test_it_releases_every_reservation_once_orders_are_gone(
    venue: Venue, two: tuple[ApiCredentials, ApiCredentials]
) -> None:
    creds0, creds1 = two
    ids = []
    for price in ("0.40", "0.41", "0.42"):
        ids.append(str(venue.place(body(order("BUY", price, "10"), creds0.key), creds0)["orderID"]))
        ids.append(str(venue.place(body(order("SELL", "0.6" + price[-1], "10"), creds0.key), creds0)["orderID"]))
    # Partial fills on both sides, then cancel everything left.
    venue.place(body(market_sell("15", "0.41", key=PK1), creds1.key, "FAK"), creds1)
    venue.place(body(market_buy("5", "0.61", key=PK1), creds1.key, "FAK"), creds1)
    assert venue.engine.available(ADDR0.lower(), YES) != (
        int(venue.balances(ADDR0)["pusd"] * 1_000_000),
        int(venue.balances(ADDR0)["shares"][YES] * 1_000_000),
    )
    venue.cancel(ids, creds0)
    balances = venue.balances(ADDR0)
    assert venue.engine.available(ADDR0.lower(), YES) == (
        int(balances["pusd"] * 1_000_000),
        int(balances["shares"][YES] * 1_000_000),
    )
