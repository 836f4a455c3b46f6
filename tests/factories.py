"""Factories for the deep graph CopyTrade → CopyRelationship → TradingAccount → User.

Token ids are realistic 77-digit CTF ids: a short id such as "1234" is signed for ExchangeV3 by
the SDK, so tests never use one.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import TradingAccount, User
from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade, WatchedWallet

TOKEN_YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
TOKEN_NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
_seq = itertools.count(1)


def random_address() -> str:
    return "0x" + secrets.token_hex(20)


def random_tx_hash() -> str:
    return "0x" + secrets.token_hex(32)


def make_user(username: str | None = None, **fields: Any) -> User:
    name = username or f"user{next(_seq)}"
    return User.objects.create_user(username=name, password=fields.pop("password", "pw-" + name), **fields)


def make_account(user: User | None = None, **fields: Any) -> TradingAccount:
    fields.setdefault("label", f"acct{next(_seq)}")
    fields.setdefault("mode", TradingAccount.Mode.PAPER)
    return TradingAccount.objects.create(user=user or make_user(), **fields)


def make_leader(address: str | None = None, **fields: Any) -> WatchedWallet:
    return WatchedWallet.objects.create(address=address or random_address(), **fields)


def shared_deployment() -> Deployment:
    deployment, _ = Deployment.objects.get_or_create(
        key=Deployment.SHARED_KEY, defaults={"kind": Deployment.Kind.SHARED_BACKEND}
    )
    return deployment


def make_relationship(
    account: TradingAccount | None = None, leader: WatchedWallet | None = None, **fields: Any
) -> CopyRelationship:
    return CopyRelationship.objects.create(account=account or make_account(), leader=leader or make_leader(), **fields)


def make_leader_trade(leader: WatchedWallet | None = None, **fields: Any) -> LeaderTrade:
    leader = leader or make_leader()
    tx_hash = fields.pop("tx_hash", random_tx_hash())
    token_id = fields.pop("token_id", TOKEN_YES)
    side = fields.pop("side", "BUY")
    now = timezone.now()
    defaults: dict[str, Any] = {
        "source": LeaderTrade.Source.ONCHAIN,
        "price": Decimal("0.56"),
        "shares": Decimal("100"),
        "usdc": Decimal("56"),
        "occurred_at": now,
        "detected_at": now,
    }
    defaults.update(fields)
    return LeaderTrade.objects.create(
        leader=leader,
        dedupe_key=f"{leader.address}:{tx_hash}:{token_id}:{side}",
        tx_hash=tx_hash,
        token_id=token_id,
        side=side,
        **defaults,
    )


def make_copy_trade(
    relationship: CopyRelationship | None = None, leader_trade: LeaderTrade | None = None, **fields: Any
) -> CopyTrade:
    relationship = relationship or make_relationship()
    leader_trade = leader_trade or make_leader_trade(leader=relationship.leader)
    fields.setdefault("deployment", shared_deployment())
    fields.setdefault("deadline_at", timezone.now() + timedelta(minutes=10))
    return CopyTrade.objects.create(
        relationship=relationship,
        leader_trade=leader_trade,
        account=relationship.account,
        side=fields.pop("side", leader_trade.side),
        token_id=fields.pop("token_id", leader_trade.token_id),
        **fields,
    )
