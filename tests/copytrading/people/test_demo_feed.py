"""The demo lives: leader trades keep coming on the recorded tape's markets, every leader trades
within each round, and "what copying would have made" decides the generated trades (sells
included) exactly as the live pipeline does."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from copytrading.demo_feed import DemoFeed
from copytrading.follows import FollowSettings
from copytrading.leaders.backtest import backtest_run, market_facts
from copytrading.leaders.stats import historic_trades
from copytrading.markets import market_labels_refresh, market_names
from copytrading.models import CopyRelationship, CopyTrade, WatchedWallet
from execution.models import GuardrailSettings
from execution.simulator import Venue, VenueSimulator
from tests.copytrading.people.conftest import tape_scenario
from tests.copytrading.people.pipeline_run import run_live
from tests.copytrading.people.test_backtest import backtest_row, live_row
from tests.factories import make_account


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def feed_on(rows: list[dict[str, Any]], *, start: float, seed: int = 7) -> tuple[DemoFeed, Venue, Clock]:
    clock = Clock(start)
    venue = Venue(tape_scenario(rows), clock=clock)
    return DemoFeed(venue=venue, rows=rows, seed=seed, clock=clock), venue, clock


def all_rows(venue: Venue, feed: DemoFeed) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for leader in feed.leaders:
        rows += venue.data_activity({"user": leader.address, "sortDirection": "ASC", "limit": "10000"})
    return sorted(rows, key=lambda r: int(r["timestamp"]))


def test_at_minute_ten_of_the_demo_every_leader_has_just_traded_and_keeps_trading(tape: list[dict[str, Any]]) -> None:
    feed, venue, clock = feed_on(tape, start=1_790_000_000.0)
    assert [leader.name for leader in feed.leaders] == ["bama124", "kingfisher", "notgonnatrickme"]
    tape_trades = feed.replay_tape()
    assert len(tape_trades) == 5  # the tape's five copyable trades, as happening now
    assert all(t.at == clock.now for t in tape_trades)
    assert len({t.tx_hash for t in tape_trades}) == 5
    assert not {t.tx_hash for t in tape_trades} & {str(r["transactionHash"]).lower() for r in tape}
    # Ten minutes on the simulated clock, a trade every pace.
    made = []
    while clock.now < 1_790_000_000.0 + 600:
        clock.now += feed.pace_seconds
        made.append(feed.next_trade())
    by_leader = Counter(t.leader for t in made)
    assert set(by_leader) == {leader.address for leader in feed.leaders}
    for leader in feed.leaders:
        times = [t.at for t in made if t.leader == leader.address]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) <= len(feed.leaders) * feed.pace_seconds  # each leader trades every round
        buys = [t.at for t in made if t.leader == leader.address and t.side == "BUY"]
        assert max(b - a for a, b in itertools.pairwise(buys)) <= 2 * len(feed.leaders) * feed.pace_seconds
    assert {t.side for t in made} == {"BUY", "SELL"}
    for trade in made:
        tick = venue.market(trade.token_id).tick_size
        assert trade.price % tick == 0
        assert tick <= trade.price <= 1 - tick
        assert trade.title  # the tape's real market titles
    # Every trade is on the venue's Data API, newest first, as a real leader's would be.
    newest = venue.data_trades({"user": made[-1].leader, "takerOnly": "false", "limit": "1"})[0]
    assert newest["transactionHash"] == made[-1].tx_hash


def test_a_leader_never_sells_more_than_it_bought(tape: list[dict[str, Any]]) -> None:
    feed, venue, clock = feed_on(tape, start=1_790_000_000.0, seed=3)
    for _ in range(300):
        clock.now += 10
        feed.next_trade()
    for leader in feed.leaders:
        for position in venue.data_positions({"user": leader.address, "sizeThreshold": "0"}):
            assert Decimal(str(position["size"])) >= 0
    held: Counter[tuple[str, str]] = Counter()
    for row in all_rows(venue, feed):
        key = (row["proxyWallet"], row["asset"])
        held[key] += row["size"] if row["side"] == "BUY" else -row["size"]
        assert held[key] >= 0


def test_thirty_days_of_history_end_an_hour_ago_and_leave_the_venue_at_the_current_prices(
    tape: list[dict[str, Any]],
) -> None:
    start = 1_790_000_000.0
    feed, venue, _clock = feed_on(tape, start=start)
    written = feed.history(days=30)
    rows = all_rows(venue, feed)
    assert len(rows) == written
    assert 200 < written < 1000
    assert min(r["timestamp"] for r in rows) >= start - 31 * 86_400
    assert max(r["timestamp"] for r in rows) <= start - 3600  # nothing fresh enough to be copied
    last = rows[-1]
    book = venue.book(last["asset"])
    best = book["asks" if last["side"] == "BUY" else "bids"]
    assert isinstance(best, list)
    assert Decimal(best[-1]["price"]) == last["price"]  # the book sits at the last trade's price


@pytest.mark.django_db
def test_the_backtest_and_the_live_pipeline_decide_generated_trades_with_sells_identically(
    tape_venue: VenueSimulator, tape: list[dict[str, Any]]
) -> None:
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0).timestamp()
    feed, venue, clock = feed_on(tape, start=noon, seed=11)
    for _ in range(45):
        clock.now += 5
        feed.next_trade()
    rows = all_rows(venue, feed)
    trades = historic_trades(rows)
    assert {t.side for t in trades} == {"BUY", "SELL"}
    market_labels_refresh(token_ids=sorted({t.token_id for t in trades}))
    chosen = {
        "fixed $10, $60 a day": FollowSettings(sizing_value=Decimal(10), daily_cap_usdc=Decimal(60)),
        "1 % with $2 minimum": FollowSettings(
            sizing_mode="proportional", sizing_value=Decimal("0.01"), min_usdc_per_trade=Decimal(2)
        ),
        "2 %, no sells copied": FollowSettings(
            sizing_mode="proportional", sizing_value=Decimal("0.02"), copy_sells=False
        ),
    }
    leaders = [WatchedWallet.objects.create(address=leader.address) for leader in feed.leaders]
    follows = {
        name: [CopyRelationship.objects.create(account=make_account(label=name), leader=leader, **s.values())
               for leader in leaders]
        for name, s in chosen.items()
    }  # fmt: skip
    run_live(venue=tape_venue, rows=rows)
    facts = market_facts(trades, market_names([t.token_id for t in trades], ask_venue=False))
    compared = 0
    for name, settings in chosen.items():
        for follow in follows[name]:
            mine = [t for t in trades if any(r["proxyWallet"] == follow.leader.address and
                                             str(r["transactionHash"]).lower() == t.tx_hash for r in rows)]  # fmt: skip
            result = backtest_run(
                trades=mine, settings=settings, limits=GuardrailSettings.current(), facts=facts, now=timezone.now()
            )
            copies = CopyTrade.objects.filter(relationship=follow).select_related("leader_trade")
            live = {(c.leader_trade.tx_hash, c.token_id): c for c in copies if c.leader_trade is not None}
            for decision in result.decisions:
                copy = live[(decision.trade.tx_hash, decision.trade.token_id)]
                assert live_row(copy) == backtest_row(decision), (name, decision.trade)
                compared += 1
    assert compared == len(chosen) * len(trades)
    kinds = {(c.side, c.status, c.reason_code) for c in CopyTrade.objects.all()}
    assert ("SELL", "confirmed", "") in kinds  # mirrored sells were sized and filled
    assert ("SELL", "skipped", "copy_sells_off") in kinds
    assert ("BUY", "blocked", "daily_cap") in kinds


@pytest.mark.django_db
def test_the_minute_summary_counts_copies_in_plain_words() -> None:
    from copytrading.demo_feed import copies_summary
    from tests.factories import make_copy_trade

    since = timezone.now().timestamp() - 1
    make_copy_trade(status="confirmed", venue_status="paper")
    make_copy_trade(status="confirmed", venue_status="paper")
    make_copy_trade(status="skipped", reason_code="follow_paused")
    assert copies_summary(since=since, leader_trades=2) == "last minute: 2 leader trades, 3 copies: 2 filled, 1 skipped"
