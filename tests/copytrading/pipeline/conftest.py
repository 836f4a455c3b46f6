"""The pipeline against the simulated venue over real HTTP (execution.simulator on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.test import override_settings

from accounts.models import TradingAccount, User
from copytrading.models import CopyRelationship, LeaderTrade, WatchedWallet
from execution.custody import custody_set_speed
from execution.simulator import VenueSimulator
from execution.venue.gateway import default_gateway
from tests.factories import TOKEN_NO, TOKEN_YES, make_account, make_leader, make_leader_trade, make_relationship

CONDITION = "0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af"
# Well-known development keys (Hardhat #1..#4); never hold real funds.
KEYS = [
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30e34926a",
]
SCENARIO = {
    "markets": [
        {
            "condition_id": CONDITION,
            "tokens": [{"token_id": TOKEN_YES, "outcome": "Yes"}, {"token_id": TOKEN_NO, "outcome": "No"}],
            "tick_size": "0.01",
            "min_order_size": 5,
            "fee_rate": "0.04",
        }
    ],
    "books": [
        {"token_id": TOKEN_YES, "bids": [["0.55", "1000"]], "asks": [["0.57", "1000"]], "replenish": True},
        {"token_id": TOKEN_NO, "bids": [["0.42", "1000"]], "asks": [["0.44", "1000"]], "replenish": True},
    ],
    "settlement": {"manual": True},
}


@pytest.fixture(scope="session")
def simulator() -> Iterator[VenueSimulator]:
    with VenueSimulator(SCENARIO) as sim:
        yield sim


@pytest.fixture
def sim(simulator: VenueSimulator) -> Iterator[VenueSimulator]:
    """A fresh venue state, and the platform's venue settings pointing at it."""
    simulator.reset(SCENARIO)
    with override_settings(POLYMARKET_CLOB_URL=simulator.url, POLYMARKET_DATA_URL=simulator.url):
        default_gateway.cache_clear()
        yield simulator
    default_gateway.cache_clear()


def speed_account(
    sim: VenueSimulator,
    *,
    key: str = KEYS[0],
    user: User | None = None,
    pusd: str = "1000",
    shares: dict[str, str] | None = None,
) -> TradingAccount:
    """A speed-mode account set up through the custody service (credentials derived by L1 auth)."""
    account = make_account(user=user)
    custody_set_speed(
        account=account, private_key=key, funder_address="", signature_type=0, api_credentials=None, actor="test"
    )
    account.refresh_from_db()
    sim.set_balance(account.signer_address, pusd=pusd, shares=shares or {})
    return account


def follow(account: TradingAccount, leader: WatchedWallet | None = None, **fields: object) -> CopyRelationship:
    fields.setdefault("sizing_value", Decimal(10))
    return make_relationship(account=account, leader=leader or make_leader(), **fields)


def leader_buy(leader: WatchedWallet, **fields: object) -> LeaderTrade:
    fields.setdefault("price", Decimal("0.56"))
    return make_leader_trade(leader=leader, **fields)
