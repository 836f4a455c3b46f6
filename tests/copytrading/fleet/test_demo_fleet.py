"""The demo's fleet follower: erin's copies settle on the local chain."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import IO

import pytest
from django.conf import settings
from django.test import override_settings
from eth_utils.address import to_checksum_address
from playwright.sync_api import expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from accounts.models import TradingAccount, User
from copytrading.demo import FLEET_FOLLOWER, STAFF
from copytrading.demo_fleet import ERIN_PUSD, demo_fleet_follower, demo_fleet_start
from copytrading.management.commands.run_embedded import free_port
from copytrading.models import CopyTrade
from copytrading.pipeline.fleet_settle import fleet_settle
from execution.fleet.models import OperatorWallet
from execution.fleet.setup import fleet_setup
from execution.simulator import VenueSimulator
from execution.simulator.chain.local import LocalChain, dev_account
from execution.venue.gateway import default_gateway
from tests.copytrading.fleet.conftest import FleetWorld
from tests.copytrading.fleet.test_fleet_settlement import i6, place_and_confirm
from tests.copytrading.pipeline.conftest import SCENARIO
from tests.execution.fleet.conftest import Fleet
from tests.factories import make_account, make_user, shared_deployment
from tests.pages.browser_support import CHROMIUM, CHROMIUM_ARGS, log_in, recorded_errors

pytestmark = [pytest.mark.fleet, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_world(chain: LocalChain) -> Iterator[FleetWorld]:
    with (
        VenueSimulator(SCENARIO, chain=chain.info) as sim,
        override_settings(POLYMARKET_CLOB_URL=sim.url, POLYMARKET_DATA_URL=sim.url),
    ):
        default_gateway.cache_clear()
        demo_fleet_start(chain)  # sets the fleet's settings: restored when override_settings ends
        assert chain.w3 is not None
        settlement = to_checksum_address(settings.FLEET_SETTLEMENT_ADDRESS)
        pusd, ctf = chain.info.contracts["pusd"], chain.info.contracts["ctf"]
        admin_key = dev_account(8).key.hex()
        tools = Fleet(chain, chain.w3, settlement, pusd, ctf, admin_key, dev_account(0), dev_account(1))
        wallets = list(OperatorWallet.objects.order_by("index"))
        yield FleetWorld(chain, sim, settlement, shared_deployment(), wallets, tools)
    default_gateway.cache_clear()


def test_the_demos_fleet_follower_is_ready_and_her_copies_settle_on_chain(demo_world: FleetWorld) -> None:
    erin = demo_fleet_follower(demo_world.chain, make_account(user=make_user("erin")), actor="demo")
    assert erin.mode == TradingAccount.Mode.FLEET
    setup = fleet_setup(erin)
    assert setup is not None
    assert setup.allowance == ERIN_PUSD
    row = place_and_confirm(demo_world, demo_world.copy(erin))
    assert fleet_settle(row.id) == "settled"
    row.refresh_from_db()
    assert row.status == CopyTrade.Status.SETTLED
    assert demo_world.shares(erin.funder_address, int(row.token_id)) == row.size_matched * Decimal(10**6)
    assert i6() == []


@pytest.mark.browser
def test_erins_settled_copy_is_on_her_dashboard_and_the_fleet_in_the_admin(
    demo_world: FleetWorld, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, password = FLEET_FOLLOWER
    user = User.objects.create_user(name, email=f"{name}@polyhunter.local", password=password)
    User.objects.create_superuser(STAFF[0], email="admin@polyhunter.local", password=STAFF[1])
    erin = demo_fleet_follower(demo_world.chain, make_account(user=user), actor="demo")
    row = place_and_confirm(demo_world, demo_world.copy(erin))
    assert fleet_settle(row.id) == "settled"
    assert row.operator_wallet is not None
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop on this thread
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors = recorded_errors(page)
            log_in(page, live_server.url, name, password)
            page.goto(live_server.url + "/dashboard/")
            expect(page.locator("body")).to_contain_text(
                "filled; the shares are in your wallet and PolyHunter was paid back"
            )
            staff = browser.new_page()
            log_in(staff, live_server.url, *STAFF, path="/admin/login/")
            staff.goto(live_server.url + "/admin/execution/operatorwallet/")
            wallets = staff.locator("#result_list")
            expect(wallets).to_contain_text(row.operator_wallet.address)
            expect(wallets).to_contain_text("Active (takes new copies)")
            staff.goto(live_server.url + "/admin/execution/debtrecord/")
            expect(staff.locator("#content")).to_contain_text("0 debt records")
            assert errors == []
        finally:
            browser.close()


def run_demo(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`manage.py run_embedded --demo` as `make demo` runs it, on its own SQLite file and free
    ports; returns the process and the lines it printed up to its "Ctrl-C to stop."."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "polyhunter.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input"], env=env, check=True, capture_output=True, timeout=300)
    command = [*manage, "run_embedded", "--demo", "--port", str(free_port()), "--pace", "2", *args]
    demo = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert demo.stdout is not None
    lines: list[str] = []
    for line in demo.stdout:
        lines.append(line)
        if line.startswith("Ctrl-C to stop.") or len(lines) > 200:
            break
    # Keep reading what it logs from now on: a full pipe would block the demo.
    threading.Thread(target=drain, args=(demo.stdout,), daemon=True).start()
    return demo, lines


def drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def stop(demo: subprocess.Popen[str]) -> None:
    demo.send_signal(signal.SIGTERM)
    try:
        demo.wait(timeout=30)
    except subprocess.TimeoutExpired:
        demo.kill()
        demo.wait()


def test_make_demo_starts_the_chain_and_erins_copies_settle_there(tmp_path: Path) -> None:
    demo, lines = run_demo(tmp_path)
    try:
        printed = "".join(lines)
        assert "local chain (settles every match)" in printed, printed
        assert f"{FLEET_FOLLOWER[0]} / {FLEET_FOLLOWER[1]}" in printed, printed
        statuses: dict[str, int] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not statuses.get("settled"):
            time.sleep(1)
            with closing(sqlite3.connect(tmp_path / "demo.sqlite3", timeout=10)) as db:
                statuses = dict(
                    db.execute(
                        "SELECT c.status, count(*) FROM copytrading_copytrade c"
                        " JOIN accounts_tradingaccount a ON a.id = c.account_id"
                        " JOIN accounts_user u ON u.id = a.user_id WHERE u.username = ? GROUP BY c.status",
                        [FLEET_FOLLOWER[0]],
                    ).fetchall()
                )
        assert statuses.get("settled"), statuses
        assert "debt" not in statuses, statuses
    finally:
        stop(demo)


def test_the_demo_without_the_chain_has_no_fleet_follower(tmp_path: Path) -> None:
    demo, lines = run_demo(tmp_path, "--no-chain")
    stop(demo)
    printed = "".join(lines)
    assert "PolyHunter demo:" in printed, printed
    assert "local chain" not in printed
    assert f"{FLEET_FOLLOWER[0]} /" not in printed
