"""The soak's world: the benchmark's markets, keys and books (bench/world.py), followers of every
custody mode the platform can run, leaders, and follows of which some have caps that bind.

Custody modes are set up by one function each (``SETUP``): speed (own key, API credentials derived
from the venue by L1 auth), session (the follower's deposit wallet authorises the platform's
session signer through the venue's relayer, as the follower's own software would; the platform
holds no key of theirs) and paper; fleet followers are one more entry once that mode can place
orders. Settlement runs on the simulator's timers (a fill is MINED
after 0.5 s and CONFIRMED after 2 s), so the reconciler has real confirmations to follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bench import world as bench_world
from bench.world import Follower, Market

SYSTEM_ACTOR = "system:soak"
COPY_USDC = bench_world.COPY_USDC  # fixed pUSD per copy
RATIO = Decimal("0.15")  # proportional follows: 15 % of the leader's pUSD ($8.40 of $56)
# Caps that bind within minutes at $10 a copy and that the taker fee (0.02 x p(1-p) per share,
# ~$0.09 a copy here) pushes over if it is not counted: three copies are $30 + fees.
DAILY_CAP = Decimal("30.10")
MARKET_CAP = Decimal("20.05")


@dataclass(frozen=True)
class SoakShape:
    """How many followers of each custody mode, how many leaders they follow, how many markets."""

    modes: dict[str, int]
    leaders: int
    markets: int = 8
    # Every ``second_follow_every``-th account follows a second leader (two follows, one account cap).
    second_follow_every: int = 5

    @property
    def accounts(self) -> int:
        return sum(self.modes.values())


@dataclass(frozen=True)
class Follow:
    account_id: int
    follow_id: int
    leader: str
    mode: str
    daily_cap: Decimal | None
    market_cap: Decimal | None


@dataclass
class SoakWorld:
    leaders: list[str]
    markets: list[Market]
    follows: list[Follow] = field(default_factory=list)

    def follows_of(self, leader: str) -> int:
        return sum(1 for f in self.follows if f.leader == leader)

    def summary(self) -> dict[str, Any]:
        modes: dict[str, int] = {}
        for f in self.follows:
            modes[f.mode] = modes.get(f.mode, 0) + 1
        return {
            "accounts": len({f.account_id for f in self.follows}),
            "follows": len(self.follows),
            "follows_by_mode": modes,
            "leaders": len(self.leaders),
            "markets": len(self.markets),
            "follows_with_daily_cap": sum(1 for f in self.follows if f.daily_cap is not None),
            "follows_with_market_cap": sum(1 for f in self.follows if f.market_cap is not None),
            "daily_cap_usdc": str(DAILY_CAP),
            "market_cap_usdc": str(MARKET_CAP),
        }


def people(shape: SoakShape) -> list[Follower]:
    """Deterministic keys (the benchmark's), so the venue's scenario can be written first."""
    return bench_world.followers(shape.accounts)


def scenario(shape: SoakShape, everyone: list[Follower]) -> dict[str, Any]:
    """The benchmark's venue (markets, deep replenishing books, funded wallets), settling on timers."""
    base = bench_world.scenario(
        bench_world.Shape(accounts=shape.accounts, leaders=shape.leaders, per_leader=1, markets=shape.markets),
        everyone,
    )
    base["settlement"] = {"mined_after_ms": 500, "confirmed_after_ms": 2000}
    return base


def _setup_speed(account: Any, person: Follower) -> None:
    from execution.custody import custody_set_speed

    custody_set_speed(
        account=account,
        private_key=person.private_key,
        funder_address="",
        signature_type=0,
        api_credentials=None,
        actor=SYSTEM_ACTOR,
    )


def _setup_paper(account: Any, person: Follower) -> None:
    from execution.custody import custody_set_paper

    custody_set_paper(account=account, actor=SYSTEM_ACTOR)


def _setup_session(account: Any, person: Follower) -> None:
    import httpx
    from django.conf import settings

    from copytrading.controls import account_session_restored
    from execution.session_custody import custody_set_session, session_status, session_verify
    from execution.venue.owner_side import owner_authorise_session

    # The person's key is the deposit wallet's *owner* here: it authorises the platform's signer and
    # is never given to the platform (the secret scan looks for the signer's key, not this one).
    account = custody_set_session(account=account, owner_address=person.address, actor=SYSTEM_ACTOR)
    status = session_status(account)
    assert status is not None
    venue = settings.POLYMARKET_CLOB_URL.rstrip("/")
    owner_authorise_session(
        owner_key=person.private_key, wallet=status.deposit_wallet, signer=status.signer_address, venue_url=venue
    )
    account = session_verify(account=account, actor=SYSTEM_ACTOR)
    account_session_restored(account=account, actor=SYSTEM_ACTOR)
    # The venue funded the owner's address (the scenario is written before any wallet is derived):
    # the deposit wallet, the maker of this follower's orders, gets the same.
    httpx.post(
        f"{venue}/_sim/balances", json={"address": status.deposit_wallet, "pusd": bench_world.FUNDS}, timeout=10
    ).raise_for_status()


# One entry per custody mode that can place orders; fleet joins here when it can.
SETUP: dict[str, Callable[[Any, Follower], None]] = {
    "speed": _setup_speed,
    "session": _setup_session,
    "paper": _setup_paper,
}


def seed(
    shape: SoakShape, everyone: list[Follower], *, progress: Callable[[int, int], None] | None = None
) -> SoakWorld:
    from accounts.models import TradingAccount, User
    from copytrading.models import CopyRelationship, Deployment, WatchedWallet

    unknown = set(shape.modes) - set(SETUP)
    if unknown:
        raise SystemExit(f"no soak set-up for custody mode(s) {sorted(unknown)}; known: {sorted(SETUP)}")
    Deployment.objects.get_or_create(key=Deployment.SHARED_KEY, defaults={"kind": Deployment.Kind.SHARED_BACKEND})
    users = User.objects.bulk_create(
        [User(username=f"soak{p.number}", password="!unusable") for p in everyone]  # noqa: S106
    )
    accounts = TradingAccount.objects.bulk_create(
        [TradingAccount(user=user, label=f"soak {i}") for i, user in enumerate(users)]
    )
    modes = [mode for mode, count in shape.modes.items() for _ in range(count)]
    for index, (account, person, mode) in enumerate(zip(accounts, everyone, modes, strict=True)):
        SETUP[mode](account, person)
        if progress is not None and (index + 1) % 100 == 0:
            progress(index + 1, len(everyone))
    leaders = WatchedWallet.objects.bulk_create(
        [
            WatchedWallet(address=bench_world.leader_address(f"soak{i}"), label=f"soak leader {i}")
            for i in range(shape.leaders)
        ]
    )
    pairs = [
        (account, leaders[i % shape.leaders], mode)
        for i, (account, mode) in enumerate(zip(accounts, modes, strict=True))
    ]
    pairs += [
        (account, leaders[(i + 1) % shape.leaders], mode)
        for i, (account, mode) in enumerate(zip(accounts, modes, strict=True))
        if shape.leaders > 1 and i % shape.second_follow_every == 0
    ]
    rows = []
    for n, (account, leader, _) in enumerate(pairs):
        daily = DAILY_CAP if n % 3 == 0 else None
        market = MARKET_CAP if n % 4 == 1 else None
        rows.append(
            CopyRelationship(
                account=account,
                leader=leader,
                sizing_mode=CopyRelationship.SizingMode.PROPORTIONAL
                if n % 7 == 3
                else CopyRelationship.SizingMode.FIXED_USDC,
                sizing_value=RATIO if n % 7 == 3 else COPY_USDC,
                daily_cap_usdc=daily,
                max_position_usdc_per_market=market,
                # A sale gives part of a market's position back: capped-per-market follows keep
                # theirs, so "bought in this market" is exactly what the cap is held against.
                copy_sells=market is None,
            )
        )
    created = CopyRelationship.objects.bulk_create(rows)
    return SoakWorld(
        leaders=[leader.address for leader in leaders],
        markets=bench_world.markets(shape.markets),
        follows=[
            Follow(
                account_id=row.account_id,
                follow_id=row.id,
                leader=leader.address,
                mode=mode,
                daily_cap=row.daily_cap_usdc,
                market_cap=row.max_position_usdc_per_market,
            )
            for row, (_, leader, mode) in zip(created, pairs, strict=True)
        ],
    )
