"""The version canary: no order leaves unless /version is the one we sign for; staff see why."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from polymarket._internal.environment import EnvironmentConfig

from execution.models import VenueHealth
from execution.venue.auth import ApiCredentials
from execution.venue.canary import VersionUnverified
from execution.venue.errors import VersionMismatch
from execution.venue.orders import OrderRequest
from execution.venue.payload import SignedOrderPayload
from execution.venue.polymarket import PolymarketGateway
from execution.venue.signing import sign_order_with_key
from tests.execution.venue.conftest import ADDRESS_0, API_KEY, API_PASSPHRASE, API_SECRET, KEY_0, market, venue_settings
from tests.execution.venue.localserver import LocalVenue, Reply
from tests.factories import TOKEN_YES

CREDS = ApiCredentials(key=API_KEY, secret=API_SECRET, passphrase=API_PASSPHRASE)
ACCEPTED = {
    "success": True,
    "errorMsg": "",
    "orderID": "0x" + "a" * 64,
    "status": "live",
    "makingAmount": "",
    "takingAmount": "",
}


def _payload(config: EnvironmentConfig) -> SignedOrderPayload:
    request = OrderRequest.limit(token_id=TOKEN_YES, side="BUY", price=Decimal("0.5"), size=Decimal(10))
    return sign_order_with_key(
        private_key=KEY_0, api_key=API_KEY, funder=ADDRESS_0, request=request, market=market(), config=config
    )


@pytest.mark.django_db
def test_a_different_venue_version_refuses_every_order_and_shows_in_the_admin_row(
    local_venue: LocalVenue, config: EnvironmentConfig
) -> None:
    local_venue.route("GET", "/version", Reply(body={"version": 3}))
    local_venue.route("POST", "/order", Reply(body=ACCEPTED))
    gateway = PolymarketGateway(venue_settings(local_venue.url), version_ttl_seconds=0.2)
    with pytest.raises(VersionMismatch, match="order version 3 but this code signs version 2"):
        gateway.place(_payload(config), creds=CREDS)
    assert local_venue.hits["/order"] == 0
    health = VenueHealth.objects.get()
    assert (health.seen_version, health.expected_version, health.refused) == (3, 2, True)
    assert health.refused_since is not None
    assert "signs version 2" in health.detail
    refused_since = health.refused_since

    # Within the TTL the answer is reused: no second /version read, still refused.
    with pytest.raises(VersionMismatch):
        gateway.place(_payload(config), creds=CREDS)
    assert local_venue.hits["/version"] == 1

    time.sleep(0.25)
    with pytest.raises(VersionMismatch):
        gateway.check_version()
    assert VenueHealth.objects.get().refused_since == refused_since

    local_venue.route("GET", "/version", Reply(body={"version": 2}))
    time.sleep(0.25)
    assert gateway.place(_payload(config), creds=CREDS).kind == "placed"
    health = VenueHealth.objects.get()
    assert (health.seen_version, health.refused, health.refused_since) == (2, False, None)
    assert health.last_ok_at is not None
    assert local_venue.hits["/order"] == 1


@pytest.mark.django_db
def test_an_unreadable_version_refuses_orders_too(local_venue: LocalVenue, config: EnvironmentConfig) -> None:
    local_venue.route("GET", "/version", Reply(status=502, raw=b"<html>bad gateway</html>"))
    local_venue.route("POST", "/order", Reply(body=ACCEPTED))
    gateway = PolymarketGateway(venue_settings(local_venue.url))
    with pytest.raises(VersionUnverified, match="could not be read"):
        gateway.place(_payload(config), creds=CREDS)
    assert local_venue.hits["/order"] == 0
    health = VenueHealth.objects.get()
    assert (health.seen_version, health.refused) == (None, True)


@pytest.mark.django_db
def test_a_failed_check_is_retried_sooner_than_a_good_one(local_venue: LocalVenue) -> None:
    local_venue.route("GET", "/version", Reply(body={"oops": True}))
    gateway = PolymarketGateway(venue_settings(local_venue.url), version_ttl_seconds=60)
    with pytest.raises(VersionUnverified):
        gateway.check_version()
    local_venue.route("GET", "/version", Reply(body={"version": 2}))
    time.sleep(2.1)
    assert gateway.check_version().seen == 2
    gateway.check_version()
    assert local_venue.hits["/version"] == 2
