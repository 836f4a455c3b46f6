"""Confirmed fills credited to positions in one batch give what crediting them one by one gives."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from copytrading.models import CopyTrade, Position
from copytrading.pipeline.positions import Fill, positions_apply_fills
from tests.factories import TOKEN_NO, TOKEN_YES, make_copy_trade, make_relationship

pytestmark = pytest.mark.django_db


def _fills() -> list[Fill]:
    follow, other = make_relationship(), make_relationship()
    buy = make_copy_trade(follow, side="BUY", token_id=TOKEN_YES, status=CopyTrade.Status.FILLED)
    more = make_copy_trade(follow, side="BUY", token_id=TOKEN_YES, status=CopyTrade.Status.FILLED)
    sell = make_copy_trade(follow, side="SELL", token_id=TOKEN_YES, status=CopyTrade.Status.FILLED)
    elsewhere = make_copy_trade(other, side="BUY", token_id=TOKEN_NO, status=CopyTrade.Status.FILLED)
    return [
        Fill(trade=buy, shares=Decimal("10"), usdc=Decimal("5.6"), fee=Decimal("0.09856")),
        Fill(trade=more, shares=Decimal("7.5"), usdc=Decimal("4.35"), fee=Decimal("0.0731")),
        Fill(trade=sell, shares=Decimal("12"), usdc=Decimal("7.2"), fee=Decimal("0.1152")),
        Fill(trade=elsewhere, shares=Decimal("3"), usdc=Decimal("1.32"), fee=Decimal(0)),
    ]


def _state() -> list[tuple[int, str, Decimal, Decimal, Decimal]]:
    return [
        (p.relationship_id, p.token_id, p.shares, p.cost_usdc, p.realized_pnl_usdc)
        for p in Position.objects.order_by("relationship_id", "token_id")
    ]


def test_a_batch_of_fills_credits_positions_as_one_fill_at_a_time_does() -> None:
    fills = _fills()
    with transaction.atomic():
        for fill in fills:
            positions_apply_fills([fill])
    one_by_one = _state()
    Position.objects.all().delete()
    with transaction.atomic():
        positions_apply_fills(fills)
    assert _state() == one_by_one
    (_, _, shares, cost, realized), (_, _, other_shares, other_cost, _) = one_by_one
    # bought 17.5 for 9.95 + 0.17166 in fees (10.12166), sold 12: 12/17.5 of the cost released
    assert (shares, cost) == (Decimal("5.5"), Decimal("3.181093"))
    assert realized == Decimal("7.2") - Decimal("0.1152") - Decimal("6.940567")
    assert (other_shares, other_cost) == (Decimal(3), Decimal("1.32"))
