"""The acceptance stories of the people who use PolyHunter, in real chromium.

A newcomer signs up ten minutes into the demo's world (the demo's own seed, thirty days of leader
history and ten minutes of its living feed, on a simulated clock), finds a leader in the directory,
sees what copying would have made, follows with paper custody — confirming the worst case of
following with no daily cap — and sees a copy named by its market with its fee; staff make the
leader trade from the console. Every follower page is then checked at 390 px: nothing scrolls
sideways. The pipeline is the real one: detection polls the simulated venue's Data API over HTTP,
a Dramatiq worker fans out and fills on paper.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dramatiq
import pytest
from django.db import close_old_connections
from django.test import override_settings
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from copytrading.demo import demo_seed, tape_rows
from copytrading.demo_feed import DemoFeed, demo_feed_register
from copytrading.detection.data_api import leaders_due
from copytrading.detection.service import detection_poll
from copytrading.leaders.services import leader_profile_refresh
from copytrading.models import CopyRelationship, CopyTrade, WatchedWallet
from execution.simulator import VenueSimulator
from execution.venue.gateway import default_gateway
from polyhunter.lib.money import MINUS
from tests.copytrading.people.conftest import tape_scenario
from tests.pages.browser_support import PHONE, log_in, page_width_overflow, recorded_errors, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COPY_WAIT_MS = 60_000  # "sees a copy within a minute"
MINUTES_IN = 10


@dataclass
class DemoWorld:
    url: str
    feed: DemoFeed
    venue: VenueSimulator


class Detection:
    """Detection's Data API poller, as the scheduler runs it: every due leader, over HTTP."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        try:
            while not self.stop.wait(0.5):
                for wallet_id in leaders_due(every_seconds=0.5):
                    detection_poll(wallet_id=wallet_id)
        finally:
            close_old_connections()


@pytest.fixture
def demo_world(live_server: LiveServer, worker: dramatiq.Worker) -> Iterator[DemoWorld]:
    rows = tape_rows()
    now = time.time()
    clock = [now - MINUTES_IN * 60]
    with (
        VenueSimulator(tape_scenario(rows)) as venue,
        override_settings(POLYMARKET_CLOB_URL=venue.url, POLYMARKET_DATA_URL=venue.url),
    ):
        default_gateway.cache_clear()
        seed = demo_seed(rows=rows)
        venue.set_balance(seed.alice_signer, pusd="5000")
        feed = DemoFeed(venue=venue, rows=rows, seed=5, clock=lambda: clock[0])
        feed.history(days=30)
        feed.replay_tape()  # the demo's first minute...
        while clock[0] < now - feed.pace_seconds:  # ...and ten minutes of its leaders trading
            clock[0] += feed.pace_seconds
            feed.next_trade()
        for leader in WatchedWallet.objects.all():
            leader_profile_refresh(leader_id=leader.id)
        feed.clock = time.time  # from now on the feed trades in real time (the console's button)
        demo_feed_register(feed)
        detection = Detection()
        detection.thread.start()
        try:
            yield DemoWorld(url=str(live_server.url), feed=feed, venue=venue)
        finally:
            detection.stop.set()
            detection.thread.join(timeout=10)
            demo_feed_register(None)
    default_gateway.cache_clear()


def sign_up(page: Page, url: str, name: str) -> None:
    page.goto(url + "/")
    page.get_by_role("link", name="Sign up").first.click()
    page.fill("#id_username", name)
    page.fill("#id_email", f"{name}@example.com")
    page.fill("#id_password1", "a-long-pass-phrase-9")
    page.fill("#id_password2", "a-long-pass-phrase-9")
    page.get_by_role("button", name="Sign up").click()
    page.fill("#id_label", "Main")
    page.get_by_role("button", name="Create paper account").click()
    expect(page.locator("#custody-status")).to_contain_text("Paper (simulated fills)")


def test_a_newcomer_ten_minutes_into_the_demo_finds_a_leader_sees_the_backtest_follows_and_gets_a_copy(
    chromium: Browser, demo_world: DemoWorld
) -> None:
    url = demo_world.url
    page = chromium.new_context(viewport=PHONE).new_page()
    errors = recorded_errors(page)
    sign_up(page, url, "nina")

    # The directory: every demo leader with a track record from the Data API.
    page.get_by_role("link", name="Leaders", exact=True).click()
    directory = page.locator("#directory")
    for leader in demo_world.feed.leaders:
        expect(directory).to_contain_text(leader.name)
    kingfisher = page.locator("tr", has_text="kingfisher")
    expect(kingfisher).to_contain_text("%")  # a win rate over 30 days
    shot(page, "persona-01-directory-390")
    kingfisher.get_by_role("link", name="See & follow").click()

    # What copying would have made, with the settings the newcomer tries: $10 a copy, no daily cap.
    expect(page.locator("#track-record")).to_contain_text("Last 30 days")
    expect(page.locator("#backtest-result")).to_contain_text("Copies")
    page.fill("#id_sizing_value", "10")
    page.fill("#id_daily_cap_usdc", "")
    page.get_by_role("button", name="Show what copying would have made").click()
    result = page.locator("#backtest-result")
    expect(result).to_contain_text("Spent (fees included)")
    expect(page.locator("#pnl svg")).to_have_count(0)  # the dashboard's chart id is not reused here
    shot(page, "persona-02-leader-backtest-390")

    # Following with no daily cap asks to confirm the worst case, and blocks until accepted.
    page.get_by_role("button", name="Follow with these settings").click()
    risk = page.locator("#risk")
    expect(risk).to_contain_text("Please confirm")
    expect(risk).to_contain_text("Worst case on kingfisher")
    expect(risk).to_contain_text("no daily cap")
    shot(page, "persona-03-risk-confirmation-390")
    page.get_by_role("button", name="Confirm and follow").click()  # not ticked: still not following
    expect(page.locator("#risk")).to_contain_text("Please confirm")
    assert not CopyRelationship.objects.filter(account__user__username="nina").exists()
    page.check("#id_confirm_risk")
    page.get_by_role("button", name="Confirm and follow").click()
    expect(page).to_have_url(url + "/follows/")
    expect(page.locator("main table")).to_contain_text("kingfisher")

    # Staff make kingfisher buy now, from the console (embedded mode's demo button).
    staff = chromium.new_context().new_page()
    log_in(staff, url, "admin", "polyhunter-admin", path="/admin/login/")
    staff.goto(url + "/admin/console/")
    demo = staff.locator("#demo")
    kingfisher_address = next(x.address for x in demo_world.feed.leaders if x.name == "kingfisher")
    demo.locator("select[name=leader]").select_option(kingfisher_address)
    demo.locator("select[name=side]").select_option("BUY")
    demo.get_by_role("button", name="Simulate a leader trade").click()
    expect(staff.locator(".messagelist")).to_contain_text("Kingfisher bought")
    shot(staff, "persona-04-console-simulate-trade")

    # Within a minute: the copy on the newcomer's dashboard, named by its market, filled on paper.
    page.get_by_role("link", name="Dashboard", exact=True).click()
    recent = page.locator("#recent-copies")
    expect(recent.locator("tr[data-status=confirmed]").first).to_contain_text("filled (paper)", timeout=COPY_WAIT_MS)
    copy = CopyTrade.objects.filter(account__user__username="nina", status="confirmed").first()
    assert copy is not None
    assert copy.fee_usdc > 0
    title = str(demo_world.venue.market(copy.token_id).title).strip()
    expect(recent).to_contain_text(title)
    page.reload()
    # Fees and signed amounts: a fee column, the P&L after fees with a true minus sign, never "-$".
    expect(page.locator("#recent-copies thead")).to_contain_text("Fee")
    expect(page.locator("#positions")).to_contain_text("average price includes fees")
    expect(page.locator("#pnl")).to_contain_text(f"{MINUS}$0.")  # the fee paid, on a position bought at the price
    html: Any = page.content()
    assert "-$" not in html
    assert "$-" not in html
    assert "-0.00" not in html
    assert page_width_overflow(page) == 0
    shot(page, "persona-05-dashboard-copy-390")
    assert errors == [], errors


def test_every_follower_page_fits_a_phone_at_390_px(chromium: Browser, demo_world: DemoWorld) -> None:
    url = demo_world.url
    page = chromium.new_context(viewport=PHONE).new_page()
    log_in(page, url, "bob", "polyhunter-bob")
    bob = CopyRelationship.objects.filter(account__user__username="bob").select_related("account", "leader").first()
    assert bob is not None
    paths = [
        "/dashboard/",
        "/leaders/",
        f"/leaders/{bob.leader.code}/",
        "/follows/",
        "/follows/new/",
        f"/follows/{bob.code}/",
        "/custody/",
        f"/custody/{bob.account.code}/",
        "/history/",
        "/alerts/",
    ]
    wide = {}
    for path in paths:
        response = page.goto(url + path)
        assert response is not None
        assert response.status == 200, path
        wide[path] = page_width_overflow(page)
        shot(page, "phone-" + (path.strip("/").split("/")[0] + ("-detail" if path.count("/") > 2 else "")))
    assert wide == dict.fromkeys(paths, 0)
