"""The staff console's "Simulate a leader trade" button, in embedded mode (a demo feed runs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from copytrading.demo_feed import DemoFeed, demo_feed_register
from execution.simulator import Venue
from tests.copytrading.people.conftest import tape_scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root"))
    return client


@pytest.fixture
def feed(tape: list[dict[str, Any]]) -> Iterator[tuple[DemoFeed, Venue]]:
    venue = Venue(tape_scenario(tape))
    running = DemoFeed(venue=venue, rows=tape)
    demo_feed_register(running)
    yield running, venue
    demo_feed_register(None)


def test_staff_make_a_chosen_leader_buy_now_and_it_is_on_the_data_api(
    staff: Client, feed: tuple[DemoFeed, Venue]
) -> None:
    running, venue = feed
    leader = running.leaders[1]
    page = staff.get(reverse("console")).content.decode()
    assert "Simulate a leader trade" in page
    assert leader.name in page
    response = staff.post(
        reverse("console"), {"form": "demo_trade", "leader": leader.address, "side": "BUY"}, follow=True
    )
    assert f"{leader.name} bought".capitalize() in response.content.decode()  # the admin capitalises messages
    (row,) = venue.data_trades({"user": leader.address, "takerOnly": "false"})
    assert row["side"] == "BUY"


def test_without_a_demo_feed_there_is_no_button_and_a_post_changes_nothing(staff: Client) -> None:
    assert "Simulate a leader trade" not in staff.get(reverse("console")).content.decode()
    response = staff.post(reverse("console"), {"form": "demo_trade"}, follow=True)
    assert "No demo feed runs in this process" in response.content.decode()


def test_a_wallet_that_is_not_a_demo_leader_is_refused(staff: Client, feed: tuple[DemoFeed, Venue]) -> None:
    response = staff.post(reverse("console"), {"form": "demo_trade", "leader": "0x" + "ab" * 20}, follow=True)
    assert "not one of the demo&#x27;s leaders" in response.content.decode()
