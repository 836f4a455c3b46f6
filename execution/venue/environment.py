"""Venue configuration: our URLs, timeouts and chain, and the SDK ``Environment`` built from them.

The SDK keeps every host in its environment config. We never construct an SDK client, but its
pure functions read contract addresses, the chain id and the wallet-derivation constants from
that config, so we build one in which every host is ours: the CLOB and Data API at the
configured URLs and everything else at a loopback port where nothing listens. A stray SDK call
can then never reach polymarket.com.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from polymarket import PRODUCTION
from polymarket._internal.environment import (
    EnvironmentConfig,
    create_environment,
    get_environment_config,
)
from polymarket.environments import Environment

# The CLOB order version this code signs for (`GET /version` answers {"version": 2}).
EXPECTED_VENUE_VERSION = 2

# Port 9 (discard) on loopback: nothing listens, so any request there fails at connect time.
DEAD_URL = "http://127.0.0.1:9"
DEAD_WS_URL = "ws://127.0.0.1:9"

# ExchangeV3 lives at a different address on Polygon Amoy.
_EXCHANGE_V3_BY_CHAIN = {80002: "0x9fE6e61422AdB6F610d8597F9684b16912D50C3D"}


@dataclass(frozen=True, kw_only=True)
class VenueSettings:
    """What the gateway needs from settings, as one value (tests build their own)."""

    clob_url: str
    data_url: str
    chain_id: int
    connect_timeout: Decimal
    read_timeout: Decimal

    @classmethod
    def from_settings(cls) -> VenueSettings:
        return cls(
            clob_url=settings.POLYMARKET_CLOB_URL.rstrip("/"),
            data_url=settings.POLYMARKET_DATA_URL.rstrip("/"),
            chain_id=settings.POLYMARKET_CHAIN_ID,
            connect_timeout=Decimal(str(settings.VENUE_CONNECT_TIMEOUT)),
            read_timeout=Decimal(str(settings.VENUE_READ_TIMEOUT)),
        )


def sdk_environment(*, clob_url: str, data_url: str, chain_id: int) -> Environment:
    """An SDK Environment whose hosts are ours (CLOB, Data API) or a dead loopback port."""
    return create_environment(
        name="polyhunter", config=sdk_config(clob_url=clob_url, data_url=data_url, chain_id=chain_id)
    )


@lru_cache(maxsize=8)
def sdk_config(*, clob_url: str, data_url: str, chain_id: int) -> EnvironmentConfig:
    base = get_environment_config(PRODUCTION)
    hosts: dict[str, object] = {}
    for field in dataclasses.fields(base):
        if field.name.endswith("_ws_url"):
            hosts[field.name] = DEAD_WS_URL
        elif field.name.endswith("_url"):
            hosts[field.name] = DEAD_URL
    hosts["clob_url"] = clob_url
    hosts["data_url"] = data_url
    hosts["chain_id"] = chain_id
    if chain_id in _EXCHANGE_V3_BY_CHAIN:
        hosts["exchange_v3"] = _EXCHANGE_V3_BY_CHAIN[chain_id]
    return dataclasses.replace(base, **hosts)  # type: ignore[arg-type]


def configured_sdk_config() -> EnvironmentConfig:
    venue = VenueSettings.from_settings()
    return sdk_config(clob_url=venue.clob_url, data_url=venue.data_url, chain_id=venue.chain_id)
