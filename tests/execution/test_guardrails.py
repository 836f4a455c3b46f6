from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execution.guardrails import GateInputs, Verdict, evaluate

OPEN = GateInputs(
    lane="copy",
    kill_switch=False,
    pause_copies=False,
    exits_only=False,
    leader_paused=False,
    follow_paused=False,
    account_paused=False,
    notional_usdc=Decimal(10),
    max_order_usdc=Decimal(100),
    market_exposure_usdc=Decimal(0),
    market_cap_usdc=Decimal(50),
    follow_spent_today_usdc=Decimal(0),
    follow_daily_cap_usdc=Decimal(100),
    account_spent_today_usdc=Decimal(0),
    account_daily_cap_usdc=Decimal(1000),
    breaker_open=False,
)


def test_an_order_within_every_limit_is_allowed() -> None:
    assert evaluate(OPEN) == Verdict(True)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"kill_switch": True}, "kill_switch"),
        ({"pause_copies": True}, "global_pause"),
        ({"leader_paused": True}, "leader_paused"),
        ({"account_paused": True}, "account_paused"),
        ({"follow_paused": True}, "follow_paused"),
        ({"exits_only": True}, "exits_only"),
        ({"notional_usdc": Decimal(101)}, "max_order_notional"),
        ({"market_exposure_usdc": Decimal(45)}, "market_position_cap"),
        ({"follow_spent_today_usdc": Decimal(95)}, "daily_cap"),
        ({"account_spent_today_usdc": Decimal(995)}, "daily_cap"),
        ({"breaker_open": True}, "breaker_open"),
    ],
)
def test_each_guardrail_blocks_with_its_reason(change: dict[str, object], reason: str) -> None:
    verdict = evaluate(replace(OPEN, **change))  # type: ignore[arg-type]
    assert not verdict.allowed
    assert verdict.reason == reason


@pytest.mark.parametrize(
    ("spent", "reason"),
    [
        ({"follow_spent_today_usdc": Decimal("89.7")}, "daily_cap"),
        ({"account_spent_today_usdc": Decimal("989.7")}, "daily_cap"),
        ({"market_exposure_usdc": Decimal("39.7")}, "market_position_cap"),
    ],
)
def test_a_cap_counts_the_most_fee_the_order_can_pay(spent: dict[str, Decimal], reason: str) -> None:
    """Issue 17, fix 2: the caps compared the notional alone, so an order that fit by its notional
    went over once its taker fee was charged. $10 + up to $0.31 fee no longer fits in $10.30."""
    assert evaluate(replace(OPEN, **spent)).allowed  # type: ignore[arg-type]
    verdict = evaluate(replace(OPEN, **spent, fee_usdc=Decimal("0.31")))  # type: ignore[arg-type]
    assert (verdict.allowed, verdict.reason) == (False, reason)
    assert evaluate(replace(OPEN, **spent, fee_usdc=Decimal("0.3"))).allowed  # type: ignore[arg-type]


def test_the_per_order_maximum_is_on_the_notional_which_sizing_clamps() -> None:
    limits = {"market_cap_usdc": None, "follow_daily_cap_usdc": None}
    assert evaluate(replace(OPEN, notional_usdc=Decimal(100), fee_usdc=Decimal(4), **limits)).allowed  # type: ignore[arg-type]


def test_the_kill_switch_wins_over_every_other_refusal() -> None:
    everything = replace(
        OPEN, kill_switch=True, pause_copies=True, exits_only=True, breaker_open=True, notional_usdc=Decimal(10_000)
    )
    assert evaluate(everything).reason == "kill_switch"


def test_exits_pass_pauses_of_copies_and_caps_but_not_the_kill_switch() -> None:
    exit_order = replace(
        OPEN,
        lane="exit",
        pause_copies=True,
        exits_only=True,
        market_exposure_usdc=Decimal(1000),
        follow_spent_today_usdc=Decimal(1000),
    )
    assert evaluate(exit_order).allowed
    assert evaluate(replace(exit_order, kill_switch=True)).reason == "kill_switch"


@given(
    spent=st.decimals(min_value=0, max_value=1000, places=2),
    notional=st.decimals(min_value=0, max_value=1000, places=2),
    cap=st.decimals(min_value=0, max_value=1000, places=2),
)
def test_an_allowed_copy_never_takes_a_follow_past_its_daily_cap(
    spent: Decimal, notional: Decimal, cap: Decimal
) -> None:
    inputs = replace(
        OPEN,
        follow_spent_today_usdc=spent,
        notional_usdc=notional,
        follow_daily_cap_usdc=cap,
        max_order_usdc=Decimal(10**6),
        market_cap_usdc=None,
        account_daily_cap_usdc=Decimal(10**6),
    )
    if evaluate(inputs).allowed:
        assert spent + notional <= cap
