from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial
from typing import Any

from copytrading.fanout import fanout_enqueue
from copytrading.models import LeaderTrade


def fanned_out_ids(callbacks: Iterable[Callable[[], Any]]) -> list[int]:
    """Leader trade ids the captured on-commit callbacks would send to fan-out."""
    return sorted(
        trade_id
        for callback in callbacks
        if isinstance(callback, partial) and callback.func is fanout_enqueue
        for trade_id in callback.keywords["leader_trade_ids"]
    )


def trade_rows() -> set[tuple[str, str, str, str, Decimal, Decimal, int]]:
    """Every LeaderTrade as (leader, tx, token, side, shares, usdc, legs), for exact comparisons."""
    return {
        (t.leader.address, t.tx_hash, t.token_id, t.side, t.shares, t.usdc, t.legs)
        for t in LeaderTrade.objects.select_related("leader")
    }
