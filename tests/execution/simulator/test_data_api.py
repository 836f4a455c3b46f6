"""Data API rows: injected leader trades and settled fills, takerOnly semantics, filters."""

from __future__ import annotations

from decimal import Decimal

from execution.simulator import ApiCredentials, Venue

from .support import ADDR0, ADDR1, CID, NO, PK0, PK1, YES, body, limit_amounts, sign_order

LEADER = "0xe5c8026239919339b988fdb150a7ef4ea196d3e7"
TX = "0x808a51ac93d3d3a45292c5d8ef629ae345b7223a2b0f947c59d1e5a21621b380"


def test_it_shows_an_injected_leader_trade_in_trades_and_activity(venue: Venue) -> None:
    venue.inject_leader_trade(LEADER, YES, "BUY", "2641.75", "0.968", timestamp=1725425464, transaction_hash=TX)
    (row,) = venue.data_trades({"user": LEADER})
    assert row == {
        "proxyWallet": LEADER,
        "side": "BUY",
        "asset": YES,
        "conditionId": CID,
        "size": Decimal("2641.75"),
        "price": Decimal("0.968"),
        "timestamp": 1725425464,
        "title": "Will it rain?",
        "slug": "will-it-rain",
        "icon": "",
        "eventSlug": "",
        "outcome": "Yes",
        "outcomeIndex": 0,
        "name": "",
        "pseudonym": "",
        "bio": "",
        "profileImage": "",
        "profileImageOptimized": "",
        "transactionHash": TX,
    }
    (activity,) = venue.data_activity({"user": LEADER})
    assert activity["type"] == "TRADE"
    assert activity["usdcSize"] == Decimal("2557.214")


def test_it_hides_maker_fills_unless_taker_only_is_false(venue: Venue) -> None:
    venue.inject_leader_trade(LEADER, YES, "BUY", "10", "0.5", timestamp=100)
    venue.inject_leader_trade(LEADER, YES, "SELL", "4", "0.6", timestamp=200, taker=False)
    assert [r["side"] for r in venue.data_trades({"user": LEADER})] == ["BUY"]
    assert [r["side"] for r in venue.data_trades({"user": LEADER, "takerOnly": "false"})] == ["SELL", "BUY"]
    assert len(venue.data_activity({"user": LEADER})) == 2


def test_it_lists_both_sides_of_a_real_fill_once_it_is_mined(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_balance(ADDR1, shares={YES: "10"})
    creds1 = venue.credentials(ADDR1)
    maker_amount, taker_amount = limit_amounts("SELL", "0.5", "10")
    resting = sign_order(PK1, token_id=YES, side="SELL", maker_amount=maker_amount, taker_amount=taker_amount)
    venue.place(body(resting, creds1.key), creds1)
    taker = sign_order(PK0, token_id=YES, side="BUY", maker_amount=5_000_000, taker_amount=10_000_000)
    venue.place(body(taker, creds0.key, "FAK"), creds0)
    assert venue.data_trades({"user": ADDR0}) == []
    (trade,) = venue.advance_trades(to="MINED")
    (mine,) = venue.data_trades({"user": ADDR0.lower()})
    assert (mine["side"], mine["size"], mine["price"]) == ("BUY", Decimal(10), Decimal("0.5"))
    assert mine["transactionHash"] == trade["transaction_hash"]
    assert venue.data_trades({"user": ADDR1}) == []
    (theirs,) = venue.data_trades({"user": ADDR1, "takerOnly": "false"})
    assert theirs["side"] == "SELL"
    assert [r["side"] for r in venue.data_activity({"user": ADDR1})] == ["SELL"]


def test_it_pages_and_filters_newest_first(venue: Venue) -> None:
    for second in range(5):
        venue.inject_leader_trade(LEADER, YES, "BUY" if second % 2 else "SELL", "1", "0.5", timestamp=1000 + second)
    page = venue.data_trades({"user": LEADER, "limit": "2", "offset": "1"})
    assert [r["timestamp"] for r in page] == [1003, 1002]
    assert {r["side"] for r in venue.data_trades({"user": LEADER, "side": "BUY"})} == {"BUY"}
    assert venue.data_trades({"user": LEADER, "market": "0x" + "99" * 32}) == []
    oldest_first = venue.data_activity({"user": LEADER, "sortDirection": "ASC", "start": "1001", "end": "1003"})
    assert [r["timestamp"] for r in oldest_first] == [1001, 1002, 1003]


def test_it_moves_the_house_book_to_each_leader_trade_when_asked(venue: Venue) -> None:
    venue.recenter_on_leader_trades = True
    venue.inject_leader_trade(LEADER, YES, "BUY", "10", "0.62")
    book = venue.book(YES)
    asks, bids = book["asks"], book["bids"]
    assert isinstance(asks, list)
    assert isinstance(bids, list)
    assert (asks[-1]["price"], bids[-1]["price"]) == ("0.62", "0.61")
    venue.inject_leader_trade(LEADER, YES, "SELL", "10", "0.40")
    book = venue.book(YES)
    asks, bids = book["asks"], book["bids"]
    assert isinstance(asks, list)
    assert isinstance(bids, list)
    assert (asks[-1]["price"], bids[-1]["price"]) == ("0.41", "0.4")


def test_positions_show_cost_value_and_pnl_of_a_leaders_trades_like_the_real_data_api(venue: Venue) -> None:
    venue.set_book(YES, bids=[("0.59", "100")], asks=[("0.61", "100")])
    venue.inject_leader_trade(LEADER, YES, "BUY", "100", "0.40", timestamp=100)
    venue.inject_leader_trade(LEADER, YES, "BUY", "100", "0.50", timestamp=200)
    venue.inject_leader_trade(LEADER, YES, "SELL", "50", "0.55", timestamp=300)
    (row,) = venue.data_positions({"user": LEADER})
    assert set(row) == {
        "proxyWallet", "asset", "conditionId", "size", "avgPrice", "initialValue", "currentValue", "cashPnl",
        "percentPnl", "totalBought", "realizedPnl", "percentRealizedPnl", "curPrice", "redeemable", "mergeable",
        "title", "slug", "icon", "eventSlug", "eventId", "outcome", "outcomeIndex", "oppositeOutcome",
        "oppositeAsset", "endDate", "negativeRisk",
    }  # fmt: skip
    assert (row["asset"], row["conditionId"], row["outcome"], row["oppositeAsset"]) == (YES, CID, "Yes", NO)
    assert row["size"] == Decimal(150)
    assert row["avgPrice"] == Decimal("0.45")  # average cost of the 200 bought
    assert row["totalBought"] == Decimal(200)
    assert row["realizedPnl"] == Decimal("5")  # 50 sold at 0.55 against 0.45
    assert row["curPrice"] == Decimal("0.6")  # the book's midpoint
    assert row["initialValue"] == Decimal("67.5")
    assert row["currentValue"] == Decimal(90)
    assert row["cashPnl"] == Decimal("22.5")
    assert row["title"] == "Will it rain?"


def test_positions_leave_out_closed_ones_and_sizes_under_the_threshold(venue: Venue) -> None:
    venue.inject_leader_trade(LEADER, YES, "BUY", "10", "0.5", timestamp=100)
    venue.inject_leader_trade(LEADER, YES, "SELL", "10", "0.6", timestamp=200)
    venue.inject_leader_trade(LEADER, NO, "BUY", "0.5", "0.5", timestamp=300)
    assert venue.data_positions({"user": LEADER}) == []
    (small,) = venue.data_positions({"user": LEADER, "sizeThreshold": "0"})
    assert (small["asset"], small["size"]) == (NO, Decimal("0.5"))


def test_positions_of_a_wallet_that_trades_here_follow_its_balance(venue: Venue, creds0: ApiCredentials) -> None:
    venue.set_balance(ADDR1, shares={YES: "10"})
    creds1 = venue.credentials(ADDR1)
    maker_amount, taker_amount = limit_amounts("SELL", "0.5", "10")
    resting = sign_order(PK1, token_id=YES, side="SELL", maker_amount=maker_amount, taker_amount=taker_amount)
    venue.place(body(resting, creds1.key), creds1)
    taker = sign_order(PK0, token_id=YES, side="BUY", maker_amount=5_000_000, taker_amount=10_000_000)
    venue.place(body(taker, creds0.key, "FAK"), creds0)
    venue.advance_trades(to="MINED")
    (mine,) = venue.data_positions({"user": ADDR0})
    assert (mine["size"], mine["avgPrice"], mine["totalBought"]) == (Decimal(10), Decimal("0.5"), Decimal(10))
    assert venue.data_positions({"user": ADDR1}) == []
