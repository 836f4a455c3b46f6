"""Shared material for the venue tests: recorded vectors, keys, markets and local peers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from polymarket._internal.environment import EnvironmentConfig

from execution.venue.environment import VenueSettings, sdk_config
from execution.venue.orders import FeeSchedule, MarketInfo
from tests.execution.venue.localserver import LocalVenue, Reply, serve
from tests.factories import TOKEN_NO, TOKEN_YES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# Well-known Hardhat/Anvil development keys (never funded): #0 is the key of the shared vectors.
KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDRESS_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
CONDITION = "0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af"
API_KEY = "753bc80e-0000-4000-8000-cf8b63f39ed2"
API_SECRET = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
API_PASSPHRASE = "test-passphrase-not-real"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def market(
    *, tick: str = "0.01", neg_risk: bool = False, min_size: str = "5", accepting: bool | None = True
) -> MarketInfo:
    return MarketInfo(
        condition_id=CONDITION,
        tick_size=Decimal(tick),
        neg_risk=neg_risk,
        min_order_size=Decimal(min_size),
        token_ids=frozenset({TOKEN_YES, TOKEN_NO}),
        accepting_orders=accepting,
        fees=FeeSchedule(rate=Decimal("0.04"), exponent=Decimal(1)),
    )


def venue_settings(url: str, *, connect: str = "0.5", read: str = "0.5", chain_id: int = 137) -> VenueSettings:
    return VenueSettings(
        clob_url=url, data_url=url, chain_id=chain_id, connect_timeout=Decimal(connect), read_timeout=Decimal(read)
    )


@pytest.fixture
def config() -> EnvironmentConfig:
    return sdk_config(clob_url="http://127.0.0.1:9", data_url="http://127.0.0.1:9", chain_id=137)


@pytest.fixture
def local_venue() -> Iterator[LocalVenue]:
    """A scripted venue; like the real one it tells its time (the gateway stamps L1/L2 headers with it)."""
    venue = LocalVenue()
    venue.route("GET", "/time", lambda _request: Reply(body=int(time.time())))
    with serve(venue) as served:
        yield served
