"""Paper fills of protected FAK/FOK orders against a book, with the taker fee."""

from __future__ import annotations

from decimal import Decimal

from execution.venue.markets import BookLevel, OrderBook, parse_book
from execution.venue.orders import FeeSchedule
from execution.venue.paper import simulate_fill
from tests.execution.venue.conftest import fixture
from tests.factories import TOKEN_NO, TOKEN_YES

FEES = FeeSchedule(rate=Decimal("0.04"), exponent=Decimal(1))
NO_FEES = FeeSchedule()


def _book(*, asks: list[tuple[str, str]] = (), bids: list[tuple[str, str]] = ()) -> OrderBook:  # type: ignore[assignment]
    return OrderBook(
        token_id=TOKEN_YES,
        market="0x" + "ab" * 32,
        asks=tuple(BookLevel(Decimal(p), Decimal(s)) for p, s in asks),
        bids=tuple(BookLevel(Decimal(p), Decimal(s)) for p, s in bids),
    )


ASKS = [("0.50", "10"), ("0.52", "10"), ("0.60", "100")]


def test_a_fak_buy_walks_asks_up_to_its_max_price_and_pays_the_fee_on_top() -> None:
    fill = simulate_fill(
        book=_book(asks=ASKS), side="BUY", limit_price=Decimal("0.55"), order_type="FAK", fees=FEES, amount=Decimal(20)
    )
    assert not fill.killed
    assert fill.shares == Decimal(20)
    assert fill.notional == Decimal("10.2")
    # 10 * 0.04 * 0.25 + 10 * 0.04 * (0.52 * 0.48) = 0.1 + 0.09984
    assert fill.fee == Decimal("0.19984")
    assert fill.avg_price == Decimal("0.51")
    assert fill.cash_delta == Decimal("-10.39984")


def test_a_fok_buy_that_cannot_fill_entirely_is_killed() -> None:
    fill = simulate_fill(
        book=_book(asks=ASKS), side="BUY", limit_price=Decimal("0.55"), order_type="FOK", fees=FEES, amount=Decimal(20)
    )
    assert fill.killed
    assert (fill.shares, fill.notional, fill.fee, fill.cash_delta) == (Decimal(0),) * 4


def test_a_fok_buy_that_spends_everything_fills_even_when_shares_are_floored() -> None:
    fill = simulate_fill(
        book=_book(asks=[("0.52", "100")]),
        side="BUY",
        limit_price=Decimal("0.52"),
        order_type="FOK",
        fees=NO_FEES,
        amount=Decimal(3),
    )
    assert not fill.killed
    assert fill.shares == Decimal("5.769230")
    assert fill.notional == Decimal("2.999999")


def test_a_fak_with_nothing_at_its_price_is_killed() -> None:
    fill = simulate_fill(
        book=_book(asks=ASKS), side="BUY", limit_price=Decimal("0.49"), order_type="FAK", fees=FEES, amount=Decimal(5)
    )
    assert fill.killed
    empty = simulate_fill(
        book=_book(), side="SELL", limit_price=Decimal("0.01"), order_type="FAK", fees=FEES, shares=Decimal(5)
    )
    assert empty.killed


def test_a_sell_walks_bids_down_to_its_min_price_and_receives_the_notional_less_the_fee() -> None:
    book = parse_book(fixture("clob_book_response_pyclob_test.json"), token_id=TOKEN_NO)
    fill = simulate_fill(
        book=book, side="SELL", limit_price=Decimal("0.32"), order_type="FAK", fees=FEES, shares=Decimal(150)
    )
    assert fill.shares == Decimal(150)
    assert fill.notional == Decimal("66.5")
    # 100 * 0.04 * 0.25 + 50 * 0.04 * (0.33 * 0.67) = 1 + 0.4422
    assert fill.fee == Decimal("1.4422")
    assert fill.cash_delta == Decimal("65.0578")
    partial_fok = simulate_fill(
        book=book, side="SELL", limit_price=Decimal("0.32"), order_type="FOK", fees=FEES, shares=Decimal(200)
    )
    assert partial_fok.killed
