"""The benchmark's world: markets, followers with real keys, leaders, follows — and how leader
trades are injected (through the detection record service, so the real on-commit fan-out runs).

Keys are derived deterministically from the follower's number, so the simulator's scenario file
(markets, books, balances) can be written before anything else starts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from eth_account import Account
from eth_utils.crypto import keccak

PRICE = Decimal("0.56")  # the leaders' price; the house asks at 0.57 (inside 3% slippage)
LEADER_SHARES = Decimal(100)
COPY_USDC = Decimal(10)  # fixed pUSD per copy
FUNDS = "100000000"  # pUSD per follower wallet
DEPTH = "10000000"  # shares per replenishing price level


@dataclass(frozen=True)
class Market:
    condition_id: str
    token_id: str
    complement_id: str


@dataclass(frozen=True)
class Follower:
    number: int
    private_key: str
    address: str


@dataclass(frozen=True)
class Shape:
    """How many of everything: ``accounts`` followers each follow the fan-out leader; the first
    ``leaders * per_leader`` of them also follow one of the sustained leaders."""

    accounts: int
    leaders: int
    per_leader: int
    markets: int = 8
    # Light load for the latency scenario: a few leaders with a few followers each.
    latency_leaders: int = 10
    latency_per_leader: int = 4

    @property
    def sustained_follows(self) -> int:
        return self.leaders * self.per_leader


def _token(label: str) -> str:
    # A realistic 77-digit CTF position id (short ids are signed for another exchange).
    value = int(hashlib.sha256(label.encode()).hexdigest(), 16) % (9 * 10**76)
    return str(10**76 + value)


def markets(count: int) -> list[Market]:
    return [
        Market(
            condition_id="0x" + hashlib.sha256(f"bench-condition-{i}".encode()).hexdigest(),
            token_id=_token(f"bench-yes-{i}"),
            complement_id=_token(f"bench-no-{i}"),
        )
        for i in range(count)
    ]


def followers(count: int) -> list[Follower]:
    out = []
    for number in range(count):
        key = "0x" + keccak(f"polyhunter-bench-follower-{number}".encode()).hex()
        out.append(Follower(number=number, private_key=key, address=Account.from_key(key).address))
    return out


def leader_address(label: str) -> str:
    return "0x" + hashlib.sha256(f"bench-leader-{label}".encode()).hexdigest()[:40]


def scenario(shape: Shape, people: list[Follower]) -> dict[str, Any]:
    """The simulator's scenario: markets, deep replenishing books, funded follower wallets."""
    books = []
    for market in markets(shape.markets):
        for token in (market.token_id, market.complement_id):
            books.append({"token_id": token, "bids": [["0.55", DEPTH]], "asks": [["0.57", DEPTH]], "replenish": True})
    return {
        "markets": [
            {
                "condition_id": m.condition_id,
                "tokens": [{"token_id": m.token_id, "outcome": "Yes"}, {"token_id": m.complement_id, "outcome": "No"}],
                "tick_size": "0.01",
                "min_order_size": "5",
                "fee_rate": "0.02",
            }
            for m in markets(shape.markets)
        ],
        "books": books,
        "balances": [{"address": p.address, "pusd": FUNDS} for p in people],
        # Settlement by hand: nothing here reconciles, and timers would only cost venue CPU.
        "settlement": {"manual": True},
    }


@dataclass(frozen=True)
class Seeded:
    fanout_leader: str
    sustained_leaders: list[str]
    latency_leaders: list[str]
    markets: list[Market]
    accounts: int
    # The followers' keys, in account order (the official-SDK baseline makes its own clients).
    people: tuple[Follower, ...] = ()


def seed(shape: Shape, people: list[Follower], *, progress: Any = None) -> Seeded:
    """Create users, speed-mode accounts (keys sealed by the keyring, API credentials derived from
    the venue by L1 auth through the custody service), leaders and follows."""
    from accounts.models import TradingAccount, User
    from copytrading.models import CopyRelationship, Deployment, WatchedWallet
    from execution.custody import custody_set_speed

    Deployment.objects.get_or_create(key=Deployment.SHARED_KEY, defaults={"kind": Deployment.Kind.SHARED_BACKEND})
    users = User.objects.bulk_create(
        [User(username=f"bench{p.number}", password="!unusable") for p in people]  # noqa: S106
    )
    accounts = TradingAccount.objects.bulk_create(
        [TradingAccount(user=user, label=f"bench {i}") for i, user in enumerate(users)]
    )
    for index, (account, person) in enumerate(zip(accounts, people, strict=True)):
        custody_set_speed(
            account=account,
            private_key=person.private_key,
            funder_address="",
            signature_type=0,
            api_credentials=None,
            actor="system:bench",
        )
        if progress is not None and (index + 1) % 100 == 0:
            progress(index + 1, len(people))
    fanout = WatchedWallet.objects.create(address=leader_address("fanout"), label="bench fan-out leader")
    sustained = WatchedWallet.objects.bulk_create(
        [WatchedWallet(address=leader_address(f"s{i}"), label=f"bench leader {i}") for i in range(shape.leaders)]
    )
    light = WatchedWallet.objects.bulk_create(
        [
            WatchedWallet(address=leader_address(f"l{i}"), label=f"bench light leader {i}")
            for i in range(shape.latency_leaders)
        ]
    )
    follows = [CopyRelationship(account=account, leader=fanout, sizing_value=COPY_USDC) for account in accounts]
    follows += [
        CopyRelationship(account=account, leader=light[i % shape.latency_leaders], sizing_value=COPY_USDC)
        for i, account in enumerate(accounts[-shape.latency_leaders * shape.latency_per_leader :])
    ]
    follows += [
        CopyRelationship(account=account, leader=sustained[i % shape.leaders], sizing_value=COPY_USDC)
        for i, account in enumerate(accounts[: shape.sustained_follows])
    ]
    CopyRelationship.objects.bulk_create(follows)
    return Seeded(
        fanout_leader=fanout.address,
        sustained_leaders=[leader.address for leader in sustained],
        latency_leaders=[leader.address for leader in light],
        markets=markets(shape.markets),
        accounts=len(accounts),
        people=tuple(people),
    )


@dataclass(frozen=True)
class Injected:
    leader_trade_id: int
    detected_at: datetime
    leader: str


def inject(*, leader: str, market: Market) -> Injected:
    """One leader BUY through the detection record service (insert-or-ignore, fan-out on commit)."""
    from django.utils import timezone

    from copytrading.detection.record import TradeObservation, leader_trades_record
    from copytrading.models import LeaderTrade

    now = timezone.now()
    observation = TradeObservation(
        leader=leader,
        tx_hash="0x" + secrets.token_hex(32),
        token_id=market.token_id,
        side="BUY",
        shares=LEADER_SHARES,
        usdc=LEADER_SHARES * PRICE,
        occurred_at=now,
        leg_id="log:0",
        condition_id=market.condition_id,
    )
    result = leader_trades_record(observations=[observation], source=LeaderTrade.Source.ONCHAIN, now=now)
    if len(result.new_ids) != 1:
        raise RuntimeError(f"the leader trade was not recorded as new: {result}")
    return Injected(leader_trade_id=result.new_ids[0], detected_at=now, leader=leader)
