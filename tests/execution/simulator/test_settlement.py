"""Trades settle MATCHED → MINED → CONFIRMED on a timer or by hand, or fail RETRYING → FAILED."""

from __future__ import annotations

from decimal import Decimal

from execution.simulator import ApiCredentials, Venue

from .support import ADDR0, PK0, YES, Clock, body, sign_order


def buy(venue: Venue, creds: ApiCredentials) -> str:
    venue.set_book(YES, asks=[("0.50", "100")])
    order = sign_order(PK0, token_id=YES, side="BUY", maker_amount=5_000_000, taker_amount=10_000_000)
    answer = venue.place(body(order, creds.key, "FAK"), creds)
    trade_ids = answer["tradeIDs"]
    assert isinstance(trade_ids, list)
    return str(trade_ids[0])


def status(venue: Venue, trade_id: str) -> tuple[str, str]:
    (trade,) = [t for t in venue.trades() if t["id"] == trade_id]
    return str(trade["status"]), str(trade["transaction_hash"])


def test_it_settles_trades_on_the_configured_timer(venue: Venue, creds0: ApiCredentials, clock: Clock) -> None:
    venue.set_settlement(mined_after_ms=500, confirmed_after_ms=2000)
    trade_id = buy(venue, creds0)
    assert status(venue, trade_id) == ("MATCHED", "")
    clock.advance(0.6)
    mined, tx_hash = status(venue, trade_id)
    assert mined == "MINED"
    assert tx_hash.startswith("0x")
    assert len(tx_hash) == 66
    clock.advance(1.5)
    assert status(venue, trade_id) == ("CONFIRMED", tx_hash)


def test_it_leaves_trades_matched_until_advanced_by_hand(venue: Venue, creds0: ApiCredentials, clock: Clock) -> None:
    trade_id = buy(venue, creds0)
    clock.advance(3600)
    assert status(venue, trade_id)[0] == "MATCHED"
    venue.advance_trades([trade_id], to="MINED")
    assert status(venue, trade_id)[0] == "MINED"
    venue.advance_trades()
    assert status(venue, trade_id)[0] == "CONFIRMED"


def test_it_fails_a_trade_and_gives_both_sides_their_balances_back(venue: Venue, creds0: ApiCredentials) -> None:
    trade_id = buy(venue, creds0)
    assert venue.balances(ADDR0)["pusd"] == Decimal(995)
    (failed,) = venue.fail_trades([trade_id], settle=False)
    assert failed["status"] == "RETRYING"
    venue.advance_trades([trade_id])
    assert status(venue, trade_id) == ("FAILED", "")
    assert venue.balances(ADDR0) == {"pusd": Decimal(1000), "shares": {}, "approved": True}


def test_it_fails_the_next_trades_when_a_trade_failure_fault_is_armed(
    venue: Venue, creds0: ApiCredentials, clock: Clock
) -> None:
    venue.set_settlement(mined_after_ms=100, confirmed_after_ms=200)
    venue.add_fault("trade_failure", count=1)
    failing = buy(venue, creds0)
    healthy = buy(venue, creds0)
    clock.advance(0.15)
    assert status(venue, failing)[0] == "RETRYING"
    clock.advance(0.1)
    assert status(venue, failing)[0] == "FAILED"
    assert status(venue, healthy)[0] == "CONFIRMED"
    assert venue.balances(ADDR0)["pusd"] == Decimal(995)


def test_it_does_not_push_a_trade_moved_by_hand_further_on_its_old_timer(
    venue: Venue, creds0: ApiCredentials, clock: Clock
) -> None:
    venue.set_settlement(mined_after_ms=500, confirmed_after_ms=10_000)
    trade_id = buy(venue, creds0)
    venue.advance_trades([trade_id], to="MINED")
    clock.advance(0.6)
    assert status(venue, trade_id)[0] == "MINED"
