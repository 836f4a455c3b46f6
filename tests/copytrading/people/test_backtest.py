""" "What copying would have made" decides exactly as the live pipeline does: the recorded tape
through both, compared row by row (same statuses, reasons, limits, amounts, fills and fees)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from copytrading.follows import FollowSettings
from copytrading.leaders.backtest import Decision, backtest_run, market_facts
from copytrading.leaders.stats import historic_trades
from copytrading.markets import market_labels_refresh, market_names
from copytrading.models import CopyRelationship, CopyTrade, WatchedWallet
from execution.models import GuardrailSettings
from execution.simulator import VenueSimulator
from tests.copytrading.people.pipeline_run import run_live
from tests.factories import make_account

pytestmark = pytest.mark.django_db

GEORGIA = "0xe2a926"  # prefix of a tape market's condition id, denied by one follow below

# Settings chosen so that every kind of decision shows up on the tape's trades.
SETTINGS = {
    "fixed $10, $25 a day": FollowSettings(sizing_value=Decimal(10), daily_cap_usdc=Decimal(25), slippage_bps=0),
    "5 % of the leader, $5 to $20 a copy": FollowSettings(
        sizing_mode="proportional",
        sizing_value=Decimal("0.05"),
        min_usdc_per_trade=Decimal(5),
        max_usdc_per_trade=Decimal(20),
    ),
    "20 %, prices from 0.55, $100 a day, $60 a market": FollowSettings(
        sizing_mode="proportional",
        sizing_value=Decimal("0.2"),
        price_min=Decimal("0.55"),
        daily_cap_usdc=Decimal(100),
        max_position_usdc_per_market=Decimal(60),
    ),
    "ratio 5 under the platform's $500 per order": FollowSettings(
        sizing_mode="proportional", sizing_value=Decimal(5), slippage_bps=100
    ),
    "fixed $10, one market denied, fill or kill": FollowSettings(
        sizing_value=Decimal(10), market_deny=[], order_type="FOK"
    ),
}


def live_row(copy: CopyTrade) -> tuple[Any, ...]:
    filled = copy.status == CopyTrade.Status.CONFIRMED
    return (
        copy.status,
        copy.reason_code,
        copy.reason_detail if copy.status == CopyTrade.Status.SKIPPED else "",
        _d(copy.planned_price) if filled else None,
        _d(copy.planned_usdc) if filled else None,
        _d(copy.size_matched),
        _d(copy.fill_usdc),
        _d(copy.fee_usdc),
    )


def backtest_row(decision: Decision) -> tuple[Any, ...]:
    filled = decision.status == CopyTrade.Status.CONFIRMED
    return (
        decision.status,
        decision.reason,
        decision.detail if decision.status == CopyTrade.Status.SKIPPED else "",
        _d(decision.limit_price) if filled else None,
        _d(decision.notional) if filled else None,
        _d(decision.shares),
        _d(decision.usdc),
        _d(decision.fee),
    )


def _d(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).normalize() + 0


def test_the_backtest_and_the_live_pipeline_decide_the_recorded_tape_identically(
    tape_venue: VenueSimulator, tape: list[dict[str, Any]]
) -> None:
    trades = historic_trades(tape)
    market_labels_refresh(token_ids=sorted({t.token_id for t in trades}))
    georgia = next(t.condition_id for t in trades if t.condition_id.startswith(GEORGIA))
    settings = dict(SETTINGS)
    settings["fixed $10, one market denied, fill or kill"] = FollowSettings(
        sizing_value=Decimal(10), market_deny=[georgia], order_type="FOK"
    )
    leaders = [WatchedWallet.objects.create(address=a) for a in sorted({str(r["proxyWallet"]) for r in tape})]
    follows: dict[str, list[CopyRelationship]] = {}
    for name, chosen in settings.items():
        account = make_account(label=name[:60])
        follows[name] = [
            CopyRelationship.objects.create(account=account, leader=leader, **chosen.values()) for leader in leaders
        ]

    recorded = run_live(venue=tape_venue, rows=tape)

    limits = GuardrailSettings.current()
    facts = market_facts(trades, market_names([t.token_id for t in trades], ask_venue=False))
    assert all(f.fees_known for f in facts.values())
    compared = 0
    for name, chosen in settings.items():
        for follow in follows[name]:
            mine = [
                t for t in trades if t.tx_hash in {lt.tx_hash for lt in recorded if lt.leader_id == follow.leader_id}
            ]
            result = backtest_run(trades=mine, settings=chosen, limits=limits, facts=facts, now=timezone.now())
            copies = CopyTrade.objects.filter(relationship=follow).select_related("leader_trade")
            live = {c.leader_trade.tx_hash: c for c in copies if c.leader_trade is not None}
            for decision in result.decisions:
                copy = live[decision.trade.tx_hash]
                assert live_row(copy) == backtest_row(decision), (name, decision.trade)
                compared += 1
    assert compared == len(settings) * len(trades)
    seen = {(c.status, c.reason_code) for c in CopyTrade.objects.all()}
    # The settings above make the tape show every kind of decision.
    assert {
        ("confirmed", ""),
        ("blocked", "daily_cap"),
        ("blocked", "max_order_notional"),
        ("blocked", "market_position_cap"),
        ("skipped", "below_min_size"),
        ("skipped", "price_outside_band"),
        ("skipped", "market_denied"),
    } <= seen
