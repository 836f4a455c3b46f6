"""The leader directory: track records from the simulated venue's Data API over HTTP, proposals
loaded in the background, and each leader's page with what copying would have made."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import dramatiq
import pytest
from django.test import Client
from django.urls import reverse

from copytrading.leaders.services import leader_directory, leader_profile_refresh, leader_propose, profiles_due
from copytrading.leaders.stats import TrackRecord
from copytrading.models import CopyRelationship, LeaderProfile, MarketLabel, WatchedWallet
from execution.simulator import VenueSimulator
from polyhunter.models import AuditEvent
from tests.factories import make_account, make_relationship, make_user

pytestmark = pytest.mark.django_db

FED_NO = "33507963070620649762144944331241609312903313601210934738148421620353685107636"
LEADER = "0xe5c8026239919339b988fdb150a7ef4ea196d3e7"
DAY = 86_400


def trade(venue: VenueSimulator, side: str, size: str, price: str, *, ago: int) -> None:
    venue.inject_leader_trade(LEADER, FED_NO, side, size, price, timestamp=int(time.time()) - ago)


def test_a_track_record_counts_trades_volume_markets_realised_pnl_and_win_rate_per_window(
    tape_venue: VenueSimulator,
) -> None:
    trade(tape_venue, "BUY", "100", "0.90", ago=20 * DAY)
    trade(tape_venue, "SELL", "50", "0.95", ago=10 * DAY)  # +2.50, in the 30-day window only
    trade(tape_venue, "BUY", "100", "0.96", ago=3 * DAY)  # average cost now (45 + 96) / 150 = 0.94
    trade(tape_venue, "SELL", "30", "0.93", ago=DAY)  # -0.30, a loss in both windows
    leader = WatchedWallet.objects.create(address=LEADER, label="Fed whale")
    profile = leader_profile_refresh(leader_id=leader.id)
    assert profile.state == LeaderProfile.State.READY
    record = TrackRecord.from_json(profile.stats)
    assert record is not None
    week, month = record.windows[7], record.windows[30]
    assert (week.trades, week.volume_usdc, week.markets) == (2, Decimal("123.9"), 1)
    assert week.realized_pnl_usdc == Decimal("-0.3")
    assert (week.closed, week.wins, week.win_rate) == (1, 0, Decimal(0))
    assert (month.trades, month.closed, month.wins) == (4, 2, 1)
    assert month.realized_pnl_usdc == Decimal("2.2")
    assert month.win_rate == Decimal(50)
    assert record.open_positions == 1  # 120 shares left, from /positions
    assert [t["side"] for t in profile.trades] == ["SELL", "BUY", "SELL", "BUY"]  # newest first
    # The Data API rows named the market on the way.
    assert MarketLabel.objects.get(token_id=FED_NO).title.startswith("No change in Fed interest rates")


def test_a_data_api_that_fails_marks_a_new_profile_failed_and_keeps_a_ready_one(tape_venue: VenueSimulator) -> None:
    leader = WatchedWallet.objects.create(address=LEADER)
    tape_venue.add_fault("error_before", "GET /activity", count=None)
    assert leader_profile_refresh(leader_id=leader.id).state == LeaderProfile.State.FAILED
    tape_venue.clear_faults()
    trade(tape_venue, "BUY", "10", "0.9", ago=60)
    assert leader_profile_refresh(leader_id=leader.id).state == LeaderProfile.State.READY
    tape_venue.add_fault("error_before", "GET /positions", count=None)
    kept = leader_profile_refresh(leader_id=leader.id)
    assert kept.state == LeaderProfile.State.READY
    assert "HTTP 500" in kept.refresh_error


@pytest.mark.django_db(transaction=True)
def test_a_proposed_wallet_is_listed_at_once_and_its_stats_load_in_the_background(
    tape_venue: VenueSimulator, worker: dramatiq.Worker
) -> None:
    trade(tape_venue, "BUY", "10", "0.9", ago=60)
    user = make_user("pia")
    leader = leader_propose(address=LEADER.upper().replace("0X", "0x"), user=user, label="Spotted on X")
    (listed,) = [r for r in leader_directory(user=user) if r.leader == leader]
    assert listed.profile is not None  # listed at once, loading
    worker.broker.join("platform", timeout=30_000)
    profile = LeaderProfile.objects.get(leader=leader)
    assert profile.proposed_by == user
    assert profile.state == LeaderProfile.State.READY
    assert AuditEvent.objects.filter(action="leader.propose", actor_label="pia").exists()
    assert profiles_due() == []  # fresh: the minute tick leaves it alone


def test_the_directory_lists_every_watched_wallet_with_its_followers_here(tape_venue: VenueSimulator) -> None:
    leader = WatchedWallet.objects.create(address=LEADER, label="Fed whale")
    other = WatchedWallet.objects.create(address="0x" + "12" * 20)
    me = make_user("rex")
    make_relationship(make_account(me, label="Main"), leader)
    make_relationship(make_account(label="x"), leader, status=CopyRelationship.Status.PAUSED)
    rows = {r.leader.address: r for r in leader_directory(user=me)}
    assert (rows[LEADER].followers, rows[LEADER].followed_by_me) == (1, True)
    assert (rows[other.address].followers, rows[other.address].loading) == (0, True)


def test_the_leader_page_shows_the_record_the_backtest_and_follows_in_one_click(tape_venue: VenueSimulator) -> None:
    trade(tape_venue, "BUY", "100", "0.90", ago=2 * DAY)
    trade(tape_venue, "SELL", "100", "0.95", ago=DAY)
    leader = WatchedWallet.objects.create(address=LEADER, label="Fed whale")
    leader_profile_refresh(leader_id=leader.id)
    user = make_user("sam")
    account = make_account(user, label="Main")
    client = Client()
    client.force_login(user)
    directory = client.get(reverse("leaders")).content.decode()
    assert "Fed whale" in directory
    assert "+$5.00" in directory  # realised on the sell
    url = reverse("leader_detail", kwargs={"code": leader.code})
    tried = {"days": "7", "sizing_mode": "fixed_usdc", "sizing_value": "9", "slippage_percent": "3",
             "order_type": "FAK", "copy_sells": "on", "daily_cap_usdc": "100"}  # fmt: skip
    page = client.get(url, tried).content.decode()
    assert "What copying would have made" in page
    assert 'id="backtest-result"' in page
    assert "2 of 2" in page  # both trades copied (a $9 buy, then its mirror sell)
    assert "No change in Fed interest rates" in page
    # The follow button carries the tried settings: no address to type.
    assert 'name="leader_address" value="0xe5c8026239919339b988fdb150a7ef4ea196d3e7"' in page
    assert 'name="sizing_value" value="9' in page
    data: dict[str, Any] = {
        "leader_address": LEADER, "account": str(account.code), "sizing_mode": "fixed_usdc", "sizing_value": "9",
        "slippage_percent": "3", "order_type": "FAK", "copy_sells": "True", "daily_cap_usdc": "100",
    }  # fmt: skip
    assert client.post(reverse("follow_new"), data).status_code == 302
    follow = CopyRelationship.objects.get(account=account, leader=leader)
    assert (follow.sizing_value, follow.daily_cap_usdc) == (Decimal(9), Decimal(100))
    assert "You follow this leader" in client.get(url).content.decode()


def test_proposing_refuses_a_bad_address_and_more_than_ten_a_day(tape_venue: VenueSimulator) -> None:
    user = make_user("ted")
    client = Client()
    client.force_login(user)
    bad = client.post(reverse("leader_propose"), {"address": "0x1234"}).content.decode()
    assert "not a 0x-prefixed 20-byte hex address" in bad
    for n in range(10):
        leader_propose(address="0x" + f"{n:02x}" * 20, user=user)
    refused = client.post(reverse("leader_propose"), {"address": "0x" + "ee" * 20}).content.decode()
    assert "at most 10 wallets a day" in refused
    assert not WatchedWallet.objects.filter(address="0x" + "ee" * 20).exists()
