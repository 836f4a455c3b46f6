from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from copytrading.pnl import Fill, pnl_series

T0 = datetime(2026, 1, 1, tzinfo=UTC)
YES, NO = "1" * 77, "2" * 77


def fill(minutes: int, token: str, side: str, shares: str, price: str, fee: str = "0") -> Fill:
    return Fill(
        at=T0 + timedelta(minutes=minutes),
        token_id=token,
        side=side,
        shares=Decimal(shares),
        usdc=Decimal(shares) * Decimal(price),
        fee=Decimal(fee),
        price=Decimal(price),
    )


def test_no_fills_is_no_curve() -> None:
    assert pnl_series([], marks={}, now=T0) == []


def test_each_fill_is_marked_at_the_last_price_of_its_token_and_now_at_the_mark() -> None:
    fills = [
        fill(0, YES, "BUY", "10", "0.50", fee="0.10"),  # -5.10 cash, 10 YES at 0.50 -> -0.10
        fill(5, NO, "BUY", "10", "0.40"),  # -9.10 cash, YES 5.00 + NO 4.00 -> -0.10
        fill(9, YES, "SELL", "4", "0.70"),  # -6.30 cash, YES 6 x 0.70 + NO 4.00 -> 1.90
    ]
    series = pnl_series(fills, marks={NO: Decimal("0.10")}, now=T0 + timedelta(hours=1))
    assert [p.pnl for p in series] == [Decimal("-0.10"), Decimal("-0.10"), Decimal("1.90"), Decimal("-1.10")]
    assert series[-1].at == T0 + timedelta(hours=1)


def test_fills_are_taken_in_time_order_whatever_order_they_come_in() -> None:
    late, early = fill(9, YES, "SELL", "10", "0.60"), fill(0, YES, "BUY", "10", "0.50")
    series = pnl_series([late, early], marks={}, now=T0 + timedelta(minutes=10))
    assert [p.pnl for p in series] == [Decimal(0), Decimal(1), Decimal(1)]
