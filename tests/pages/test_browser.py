"""The follower and staff stories in a real browser: Debian's chromium driven by Playwright.

The app is served by pytest-django's live server; leader trades are replayed through detection's
recording path (``leader_trades_record``, source "replay") and a real Dramatiq worker runs the
pipeline (fan-out, then execute against the simulated venue, paper fills). Screenshots of each
key page go to test-artifacts/browser/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import dramatiq
import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from copytrading.detection.record import TradeObservation, leader_trades_record
from copytrading.models import CopyRelationship, CopyTrade, LeaderTrade
from execution.simulator.scenario import Scenario
from execution.simulator.server import VenueSimulator
from execution.venue.gateway import default_gateway
from tests.factories import TOKEN_NO, TOKEN_YES, make_account, make_relationship, make_user, random_tx_hash
from tests.pages.browser_support import SHOTS, log_in, recorded_errors, shot
from tests.pages.conftest import FAKE_API_KEY, FAKE_API_SECRET, FAKE_KEY, FAKE_PASSPHRASE, FAKE_SIGNER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONDITION = "0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af"
LEADER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55 checksummed: the form honours it
PIPELINE_WAIT_MS = 30_000


@pytest.fixture
def venue(settings: Settings) -> Iterator[VenueSimulator]:
    """The simulated venue with one market: asks from 0.51, deep enough for every copy here."""
    scenario = Scenario.from_dict(
        {
            "markets": [
                {
                    "condition_id": CONDITION,
                    "tokens": [{"token_id": TOKEN_YES, "outcome": "Yes"}, {"token_id": TOKEN_NO, "outcome": "No"}],
                }
            ],
            "books": [
                {"token_id": TOKEN_YES, "bids": [["0.49", "5000"]], "asks": [["0.51", "5000"], ["0.52", "5000"]]}
            ],
        }
    )
    with VenueSimulator(scenario) as sim:
        settings.POLYMARKET_CLOB_URL = sim.url
        settings.POLYMARKET_DATA_URL = sim.url
        default_gateway.cache_clear()
        yield sim
    default_gateway.cache_clear()


@pytest.fixture
def app(live_server: LiveServer, venue: VenueSimulator, worker: dramatiq.Worker) -> str:
    """The site's base URL, with the venue and a pipeline worker running behind it."""
    return str(live_server.url)


def replay(*, price: str, shares: str = "20") -> None:
    """A leader BUY, recorded the way every detector records (fan-out is enqueued on commit)."""
    result = leader_trades_record(
        observations=[
            TradeObservation(
                leader=LEADER.lower(),
                tx_hash=random_tx_hash(),
                token_id=TOKEN_YES,
                side="BUY",
                shares=Decimal(shares),
                usdc=Decimal(shares) * Decimal(price),
                occurred_at=timezone.now(),
                leg_id="replay:0",
                condition_id=CONDITION,
            )
        ],
        source=LeaderTrade.Source.REPLAY,
    )
    assert len(result.new_ids) == 1


def slug(path: str, follow: CopyRelationship) -> str:
    """A screenshot name for a page: its path without codes or query."""
    plain = path.split("?")[0].strip("/").replace(str(follow.code), "code")
    plain = re.sub(r"(^|/)\d+(/|$)", r"\1id\2", plain.replace(str(follow.account.code), "code"))
    return plain.replace("/", "-")


def follower_with_follow(username: str) -> CopyRelationship:
    user = make_user(username, password=f"pw-{username}-long-enough")
    follow = make_relationship(make_account(user, label="Main"), sizing_value=Decimal(5))
    follow.leader.address = LEADER.lower()
    follow.leader.save()
    return follow


def test_a_follower_signs_up_sets_paper_custody_follows_and_sees_the_copy_with_its_reason(
    chromium: Browser, app: str
) -> None:
    page = chromium.new_page()
    page.goto(app + "/")
    shot(page, "01-landing")
    page.get_by_role("link", name="Sign up").first.click()
    page.fill("#id_username", "alice")
    page.fill("#id_email", "alice@example.com")
    page.fill("#id_password1", "a-long-pass-phrase-9")
    page.fill("#id_password2", "a-long-pass-phrase-9")
    shot(page, "02-signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(app + "/custody/")

    page.fill("#id_label", "Main")
    page.get_by_role("button", name="Create paper account").click()
    expect(page.locator("#custody-status")).to_contain_text("Paper (simulated fills)")
    shot(page, "03-custody-paper")

    page.get_by_role("link", name="Follows", exact=True).click()
    page.get_by_role("link", name="or follow a wallet by address").click()
    page.fill("#id_leader_address", LEADER)
    page.fill("#id_sizing_value", "5")
    page.fill("#id_daily_cap_usdc", "50")
    shot(page, "04-follow-form")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page).to_have_url(app + "/follows/")
    expect(page.locator("main table")).to_contain_text(LEADER.lower())
    expect(page.locator(".follow-status")).to_contain_text("copying")
    shot(page, "05-follows")

    page.get_by_role("link", name="Dashboard", exact=True).click()
    replay(price="0.50")  # the book asks 0.51: within the 3 % slippage, a paper fill
    recent = page.locator("#recent-copies")
    # No reload: the recent-copies table refreshes itself (htmx polling).
    expect(recent).to_contain_text("filled (paper)", timeout=PIPELINE_WAIT_MS)
    replay(price="0.30")  # 0.51 is 70 % past the leader's price
    expect(recent).to_contain_text(
        "skipped: the price moved past your slippage limit (price moved 70.0 % past the leader's, your limit is 3.0 %)",
        timeout=PIPELINE_WAIT_MS,
    )
    page.reload()
    expect(page.locator("#pnl svg")).to_be_visible()
    expect(page.locator("#pnl svg polyline")).to_have_count(1)
    expect(page.locator("#spend")).to_contain_text("$5.00 of $5,000 daily cap")
    expect(page.locator("#positions")).to_contain_text("9.80")  # shares bought with $5 at 0.51
    shot(page, "06-dashboard")

    page.get_by_role("link", name="History", exact=True).click()
    expect(page.locator("main table")).to_contain_text("0.51")
    shot(page, "07-history")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("polyhunter-history-")


def test_staff_turn_the_kill_switch_on_the_next_copy_is_blocked_and_says_why_then_off(
    chromium: Browser, app: str
) -> None:
    follow = follower_with_follow("bob")
    User.objects.create_superuser("root", "root@example.com", "pw-root-long-enough")
    staff = chromium.new_context().new_page()
    log_in(staff, app, "root", "pw-root-long-enough", path="/admin/login/")
    staff.goto(app + "/admin/console/")
    kill = staff.locator("#switch-kill_switch")
    expect(kill).to_have_attribute("data-engaged", "off")
    kill.locator("input[name=reason]").fill("suspicious fills on the venue")
    kill.locator("input[type=submit]").click()
    expect(kill).to_have_attribute("data-engaged", "on")
    expect(kill).to_contain_text("suspicious fills on the venue")
    expect(kill).to_contain_text("root")
    expect(kill).to_contain_text("every new order is refused")
    shot(staff, "08-console-kill-switch-on")

    follower = chromium.new_context().new_page()
    log_in(follower, app, "bob", "pw-bob-long-enough")
    expect(follower.locator("#follows")).to_contain_text("the platform kill switch is on")
    replay(price="0.50")
    expect(follower.locator("#recent-copies")).to_contain_text(
        "blocked by a guardrail: the platform kill switch is on", timeout=PIPELINE_WAIT_MS
    )
    shot(follower, "09-dashboard-blocked-by-kill-switch")
    blocked = CopyTrade.objects.get(relationship=follow)
    assert (blocked.status, blocked.reason_code) == (CopyTrade.Status.BLOCKED, "kill_switch")

    staff.goto(app + "/admin/copytrading/copytrade/?blocked_by=kill_switch")
    expect(staff.locator("#result_list")).to_contain_text("the platform kill switch is on")
    shot(staff, "10-admin-blocked-by-kill-switch")

    staff.goto(app + "/admin/console/")
    kill.locator("input[name=reason]").fill("venue confirmed healthy")
    kill.locator("input[type=submit]").click()
    expect(kill).to_have_attribute("data-engaged", "off")
    shot(staff, "11-console-kill-switch-off")

    replay(price="0.50")
    follower.reload()
    expect(follower.locator("#recent-copies")).to_contain_text("filled (paper)", timeout=PIPELINE_WAIT_MS)
    expect(follower.locator("#follows")).to_contain_text("copying")


def test_a_second_user_cannot_open_the_first_users_follow_by_url(chromium: Browser, app: str) -> None:
    follow = follower_with_follow("carol")
    make_user("dave", password="pw-dave-long-enough")
    page = chromium.new_context().new_page()
    log_in(page, app, "dave", "pw-dave-long-enough")
    expect(page).to_have_url(app + "/dashboard/")
    response = page.goto(app + f"/follows/{follow.code}/")
    assert response is not None
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Not found")
    shot(page, "12-other-users-follow-not-found")
    own = page.goto(app + "/follows/")
    assert own is not None
    assert LEADER.lower() not in page.content()


def test_speed_custody_in_the_browser_shows_the_address_and_set_never_the_secrets(chromium: Browser, app: str) -> None:
    user = make_user("erin", password="pw-erin-long-enough")
    account = make_account(user, label="Main")
    page = chromium.new_context().new_page()
    log_in(page, app, "erin", "pw-erin-long-enough")
    page.goto(app + f"/custody/{account.code}/")
    page.fill("#id_private_key", FAKE_KEY)
    page.fill("#id_api_key", FAKE_API_KEY)
    page.fill("#id_api_secret", FAKE_API_SECRET)
    page.fill("#id_api_passphrase", FAKE_PASSPHRASE)
    page.get_by_role("button", name="Save key").click()
    status = page.locator("#custody-status")
    expect(status).to_contain_text(FAKE_SIGNER)
    expect(status).to_contain_text("Speed (own signer key)")
    shot(page, "13-custody-speed-set")
    html: Any = page.content()
    for secret in (FAKE_KEY[2:], FAKE_API_KEY, FAKE_API_SECRET, FAKE_PASSPHRASE):
        assert secret not in html
    assert page.input_value("#id_private_key") == ""
    assert os.path.exists(SHOTS / "13-custody-speed-set.png")


def test_every_follower_page_and_the_main_staff_pages_render_in_the_browser_without_errors(
    chromium: Browser, app: str
) -> None:
    follow = follower_with_follow("frank")
    User.objects.create_superuser("root", "root@example.com", "pw-root-long-enough")
    anonymous = ["/", "/signup/", "/login/", "/password-reset/", "/password-reset/sent/", "/password-reset/done/"]
    follower = [
        "/dashboard/",
        "/follows/",
        "/follows/new/",
        f"/follows/{follow.code}/",
        "/custody/",
        f"/custody/{follow.account.code}/",
        "/history/",
    ]
    staff = [
        "/admin/",
        "/admin/console/",
        "/admin/copytrading/copytrade/?stuck=yes",
        "/admin/copytrading/leadertrade/",
        "/admin/copytrading/watchedwallet/",
        f"/admin/copytrading/watchedwallet/{follow.leader.pk}/change/",
        "/admin/copytrading/deployment/",
        "/admin/accounts/tradingaccount/",
        "/admin/polyhunter/auditevent/",
        "/admin/execution/guardrailsettings/",
    ]
    tours = [(None, anonymous), (("frank", "pw-frank-long-enough", "/login/"), follower)]
    tours.append((("root", "pw-root-long-enough", "/admin/login/"), staff))
    for login, paths in tours:
        page = chromium.new_context().new_page()
        errors = recorded_errors(page)
        if login is not None:
            log_in(page, app, login[0], login[1], path=login[2])
        for path in paths:
            response = page.goto(app + path)
            assert response is not None
            assert response.status == 200, path
            shot(page, "tour-" + (slug(path, follow) or "home"))
        assert errors == [], errors
    # htmx is served locally (django-htmx static files) and active on the dashboard.
    page = chromium.new_context().new_page()
    log_in(page, app, "frank", "pw-frank-long-enough")
    assert page.evaluate("typeof htmx") == "object"
