"""The demo: staff and four followers with different settings, following the leaders of a real
recorded tape (named as on Polymarket), trading against the local simulated venue; the leaders
keep trading for as long as the demo runs (copytrading.demo_feed).

- alice: speed mode (her own development key, API credentials derived from the venue by L1
  auth), $10 per copy, $1,000 daily cap;
- bob: paper mode, 1 % of the leader's size, copies sells;
- carol: paper mode, her follow paused (her rows show why nothing is copied);
- dave: session mode — his deposit wallet authorises PolyHunter's session signer (the demo plays
  dave's own side with the official SDK and his development key, which PolyHunter never stores),
  $5 per copy;
- erin (with the local chain: the default; not with ``make demo CHAIN=0``): fleet mode — PolyHunter's operator wallets
  buy for her and settle to her wallet on chain (copytrading.demo_fleet), $5 per copy.

Idempotent: seeding twice changes nothing (dave's owner authorises the same signer again, since
the simulated venue forgets grants when it restarts).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from eth_account import Account

from accounts.models import TradingAccount, User
from copytrading.controls import account_session_restored
from copytrading.demo_fleet import demo_fleet_follower, demo_fleet_start
from copytrading.detection.replay import tape_load
from copytrading.models import CopyRelationship, WatchedWallet
from execution.custody import custody_set_speed
from execution.session_custody import custody_set_session, session_status, session_verify
from execution.simulator.chain.local import LocalChain
from execution.venue.owner_side import owner_authorise_session

TAPE = settings.BASE_DIR / "tests" / "fixtures" / "leader_tape_data_api_activity_2024-09.json"
# A well-known development key (Hardhat #1): public, never funded anywhere real.
ALICE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
# dave's own key (Hardhat #2, public, never funded): only the demo's stand-in for dave's wallet
# software uses it, to authorise the session signer; PolyHunter is given his address alone.
DAVE_OWNER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
STAFF = ("admin", "polyhunter-admin")
FOLLOWERS = (
    ("alice", "polyhunter-alice"),
    ("bob", "polyhunter-bob"),
    ("carol", "polyhunter-carol"),
    ("dave", "polyhunter-dave"),
)
FLEET_FOLLOWER = ("erin", "polyhunter-erin")


@dataclass(frozen=True)
class DemoSeed:
    logins: list[tuple[str, str]]
    leaders: list[str]
    alice_signer: str
    dave_wallet: str


def tape_rows(path: Path = TAPE) -> list[dict[str, Any]]:
    """The tape with numbers as Decimal (detection refuses floats)."""
    return [dict(row) for row in tape_load(path)]


def demo_leaders(rows: list[dict[str, Any]]) -> list[str]:
    """Every wallet that trades on the tape, busiest first."""
    trades = Counter(str(r["proxyWallet"]).lower() for r in rows if str(r.get("type", "TRADE")).upper() == "TRADE")
    return [wallet for wallet, _ in trades.most_common()]


def demo_seed(*, rows: list[dict[str, Any]], chain: LocalChain | None = None) -> DemoSeed:
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
    dave = _session_follower(_account(users["dave"], mode=TradingAccount.Mode.PAPER), actor=staff)
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
        _follow(dave, leader, sizing_mode="fixed_usdc", sizing_value=Decimal(5), daily_cap_usdc=Decimal(200))
    logins = [STAFF, *FOLLOWERS]
    if chain is not None:
        demo_fleet_start(chain)
        erin = _account(_user(*FLEET_FOLLOWER), mode=TradingAccount.Mode.PAPER)
        erin = demo_fleet_follower(chain, erin, actor=staff)
        for leader in leaders:
            _follow(erin, leader, sizing_mode="fixed_usdc", sizing_value=Decimal(5), daily_cap_usdc=Decimal(200))
        logins.append(FLEET_FOLLOWER)
    return DemoSeed(
        logins=list(logins),
        leaders=[leader.address for leader in leaders],
        alice_signer=alice.signer_address,
        dave_wallet=dave.funder_address,
    )


def _session_follower(account: TradingAccount, *, actor: User) -> TradingAccount:
    """dave: his owner address in, his own side authorises the signer, the platform verifies it."""
    owner = Account.from_key(DAVE_OWNER_KEY).address
    if account.mode != TradingAccount.Mode.SESSION:
        account = custody_set_session(account=account, owner_address=owner, actor=actor)
    status = session_status(account)
    assert status is not None
    owner_authorise_session(
        owner_key=DAVE_OWNER_KEY,
        wallet=status.deposit_wallet,
        signer=status.signer_address,
        venue_url=settings.POLYMARKET_CLOB_URL,
    )
    account = session_verify(account=account, actor=actor)
    return account_session_restored(account=account, actor=actor)


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
