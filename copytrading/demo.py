"""The demo: staff and three followers with different settings, following the leaders of a real
recorded tape (named as on Polymarket), trading against the local simulated venue; the leaders
keep trading for as long as the demo runs (copytrading.demo_feed).

- alice: speed mode (her own development key, API credentials derived from the venue by L1
  auth), $10 per copy, $1,000 daily cap;
- bob: paper mode, 1 % of the leader's size, copies sells;
- carol: paper mode, her follow paused (her rows show why nothing is copied).

Idempotent: seeding twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from accounts.models import TradingAccount, User
from copytrading.detection.replay import tape_load
from copytrading.models import CopyRelationship, WatchedWallet
from execution.custody import custody_set_speed

TAPE = settings.BASE_DIR / "tests" / "fixtures" / "leader_tape_data_api_activity_2024-09.json"
# A well-known development key (Hardhat #1): public, never funded anywhere real.
ALICE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
STAFF = ("admin", "polyhunter-admin")
FOLLOWERS = (("alice", "polyhunter-alice"), ("bob", "polyhunter-bob"), ("carol", "polyhunter-carol"))


@dataclass(frozen=True)
class DemoSeed:
    logins: list[tuple[str, str]]
    leaders: list[str]
    alice_signer: str


def tape_rows(path: Path = TAPE) -> list[dict[str, Any]]:
    """The tape with numbers as Decimal (detection refuses floats)."""
    return [dict(row) for row in tape_load(path)]


def demo_leaders(rows: list[dict[str, Any]]) -> list[str]:
    """Every wallet that trades on the tape, busiest first."""
    trades = Counter(str(r["proxyWallet"]).lower() for r in rows if str(r.get("type", "TRADE")).upper() == "TRADE")
    return [wallet for wallet, _ in trades.most_common()]


def demo_seed(*, rows: list[dict[str, Any]]) -> DemoSeed:
    staff = _user(*STAFF, staff=True)
    users = {name: _user(name, password) for name, password in FOLLOWERS}
    names = {str(r["proxyWallet"]).lower(): str(r.get("name") or r.get("pseudonym") or "") for r in rows}
    leaders = [
        WatchedWallet.objects.get_or_create(
            address=address, defaults={"label": names.get(address) or f"Leader {i + 1}"}
        )[0]
        for i, address in enumerate(demo_leaders(rows))
    ]
    alice = _account(users["alice"], mode=TradingAccount.Mode.PAPER)
    if alice.mode != TradingAccount.Mode.SPEED:
        custody_set_speed(
            account=alice, private_key=ALICE_KEY, funder_address="", signature_type=0, api_credentials=None, actor=staff
        )
        alice.refresh_from_db()
    bob = _account(users["bob"], mode=TradingAccount.Mode.PAPER)
    carol = _account(users["carol"], mode=TradingAccount.Mode.PAPER)
    for leader in leaders:
        _follow(
            alice,
            leader,
            sizing_mode="fixed_usdc",
            sizing_value=Decimal(10),
            daily_cap_usdc=Decimal(1000),
            slippage_bps=500,
        )
        _follow(bob, leader, sizing_mode="proportional", sizing_value=Decimal("0.01"), slippage_bps=500)
        _follow(carol, leader, status=CopyRelationship.Status.PAUSED, status_reason="paused by carol (demo)")
    logins = [STAFF, *FOLLOWERS]
    return DemoSeed(
        logins=list(logins), leaders=[leader.address for leader in leaders], alice_signer=alice.signer_address
    )


def _user(username: str, password: str, *, staff: bool = False) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        create = User.objects.create_superuser if staff else User.objects.create_user
        user = create(username=username, email=f"{username}@polyhunter.local", password=password)
    return user


def _account(user: User, *, mode: str) -> TradingAccount:
    return TradingAccount.objects.get_or_create(user=user, label="Main", defaults={"mode": mode})[0]


def _follow(account: TradingAccount, leader: WatchedWallet, **fields: Any) -> CopyRelationship:
    return CopyRelationship.objects.get_or_create(account=account, leader=leader, defaults=fields)[0]
