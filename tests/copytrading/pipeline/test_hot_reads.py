"""The hot path's plain-SQL reads give exactly what the ORM queries they replace gave
(docs/performance.md): the exposure sums behind the caps (invariant I2) and the leased rows with
their follow, account, leader trade and leader. Run on SQLite and on PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Case, DecimalField, F, Sum, Value, When
from django.db.models.functions import Coalesce
from django.test import override_settings
from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.deployments import deployment_current
from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade, Position
from copytrading.pipeline.due import take_due
from copytrading.pipeline.exposure import Exposure, exposure_for
from copytrading.pipeline.loading import load_held
from tests.factories import (
    TOKEN_NO,
    TOKEN_YES,
    make_account,
    make_copy_trade,
    make_leader,
    make_leader_trade,
    make_relationship,
    shared_deployment,
)

pytestmark = pytest.mark.django_db

TOKEN_3 = "3" * 77
TOKENS = [TOKEN_YES, TOKEN_NO, TOKEN_3]
_OPEN = [CopyTrade.Status.SIGNED, CopyTrade.Status.UNKNOWN, CopyTrade.Status.DELAYED, CopyTrade.Status.LIVE]
# A fleet fill is at cost from confirmation on (SETTLEMENT_PENDING, then SETTLED or DEBT).
_AT_COST = [
    CopyTrade.Status.CONFIRMED,
    CopyTrade.Status.SETTLEMENT_PENDING,
    CopyTrade.Status.SETTLED,
    CopyTrade.Status.DEBT,
]
_FILLED = [CopyTrade.Status.FILLED, *_AT_COST]
_hashes = itertools.count(1)


def orm_exposure(*, account_ids: list[int], token_ids: list[str], now: datetime) -> Exposure:
    """The ORM version this replaces (three aggregate queries), kept here as the reference."""
    committed = Case(
        When(status__in=_AT_COST, then=F("fill_usdc") + F("fee_usdc")),
        When(status=CopyTrade.Status.FILLED, then=F("fill_usdc") + F("planned_fee_usdc")),
        default=Coalesce(F("planned_usdc"), Value(Decimal(0))) + F("planned_fee_usdc"),
        output_field=DecimalField(max_digits=24, decimal_places=6),
    )
    exposure = Exposure()
    day_start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    today = (
        CopyTrade.objects.filter(
            account_id__in=account_ids, side="BUY", created_at__gte=day_start, status__in=[*_OPEN, *_FILLED]
        )
        .values("relationship_id", "account_id")
        .annotate(total=Sum(committed))
    )
    for row in today:
        exposure.follow_today[row["relationship_id"]] += row["total"] or Decimal(0)
        exposure.account_today[row["account_id"]] += row["total"] or Decimal(0)
    unsettled = (
        CopyTrade.objects.filter(
            account_id__in=account_ids,
            token_id__in=token_ids,
            side="BUY",
            status__in=[*_OPEN, "filled", "settlement_pending"],
        )
        .values("relationship_id", "account_id", "token_id")
        .annotate(total=Sum(committed))
    )
    held = (
        Position.objects.filter(account_id__in=account_ids, token_id__in=token_ids)
        .values("relationship_id", "account_id", "token_id")
        .annotate(total=Sum("cost_usdc"))
    )
    for row in [*unsettled, *held]:
        exposure.follow_market[(row["relationship_id"], row["token_id"])] += row["total"] or Decimal(0)
        exposure.account_market[(row["account_id"], row["token_id"])] += row["total"] or Decimal(0)
    return exposure


def _trade(follow: CopyRelationship, *, status: str, side: str, token: str, **fields: Any) -> CopyTrade:
    if status in _OPEN or status in _FILLED or status in ("failed", "rejected", "canceled"):
        fields.setdefault("order_hash", f"0x{next(_hashes):064x}")
    trade = make_leader_trade(leader=follow.leader, side=side, token_id=token)
    return make_copy_trade(relationship=follow, leader_trade=trade, status=status, side=side, token_id=token, **fields)


@pytest.fixture
def varied() -> dict[str, Any]:
    """Three accounts (two follows each), three markets, every status, both sides, today and
    yesterday, fractional amounts, rows without a planned notional, positions, and a protective exit."""
    now = timezone.now()
    day_start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    accounts = [make_account() for _ in range(3)]
    follows = [make_relationship(account=account, leader=make_leader()) for account in accounts for _ in range(2)]
    amounts = itertools.cycle([Decimal("10"), Decimal("7.123456"), Decimal("0.000001"), Decimal("123.45"), None])
    fills = itertools.cycle([Decimal("9.5"), Decimal("0"), Decimal("3.333333")])
    fees = itertools.cycle([Decimal("0.1"), Decimal("0"), Decimal("0.012345")])
    worst_fees = itertools.cycle([Decimal("0.7128"), Decimal("0"), Decimal("0.000001"), Decimal("0.25")])
    statuses = [value for value, _ in CopyTrade.Status.choices]
    created = itertools.cycle([now, now - timedelta(days=1), day_start, day_start - timedelta(microseconds=1)])
    for number, (follow, status) in enumerate(itertools.product(follows, statuses)):
        side = "SELL" if number % 5 == 4 else "BUY"
        trade = _trade(
            follow,
            status=status,
            side=side,
            token=TOKENS[number % 3],
            planned_usdc=next(amounts),
            fill_usdc=next(fills),
            fee_usdc=next(fees),
            planned_fee_usdc=next(worst_fees),
        )
        CopyTrade.objects.filter(id=trade.id).update(created_at=next(created))
    for number, follow in enumerate(follows):
        for token in TOKENS[: 1 + number % 3]:
            Position.objects.create(
                account=follow.account,
                relationship=follow,
                token_id=token,
                shares=Decimal("12.5"),
                cost_usdc=Decimal("6.876543") * (number + 1),
            )
    CopyTrade.objects.create(
        relationship=follows[0],
        account=follows[0].account,
        deployment=shared_deployment(),
        trigger=CopyTrade.Trigger.STOP_LOSS,
        signal_price=Decimal("0.4"),
        signal_at=now,
        side="SELL",
        token_id=TOKEN_YES,
        status=CopyTrade.Status.SIGNED,
        order_hash=f"0x{next(_hashes):064x}",
        planned_usdc=Decimal(50),
        deadline_at=now + timedelta(minutes=10),
    )
    return {"now": now, "accounts": [account.id for account in accounts]}


def _as_dicts(exposure: Exposure) -> list[dict[Any, str]]:
    # str(): the same numbers *and* the same Decimal form (scale), not only equal values.
    return [
        {key: str(value) for key, value in part.items()}
        for part in (exposure.follow_today, exposure.account_today, exposure.follow_market, exposure.account_market)
    ]


def test_the_exposure_sums_are_the_orm_sums_on_a_varied_dataset(varied: dict[str, Any]) -> None:
    every = varied["accounts"]
    cases = [
        (every, TOKENS),
        (every, [TOKEN_YES]),
        (every[:1], [TOKEN_NO, TOKEN_3]),
        (every[1:], []),
        ([every[2], every[0]], TOKENS),
        ([10**9], TOKENS),  # an account with nothing
    ]
    for account_ids, token_ids in cases:
        ours = exposure_for(account_ids=account_ids, token_ids=token_ids, now=varied["now"])
        reference = orm_exposure(account_ids=account_ids, token_ids=token_ids, now=varied["now"])
        assert _as_dicts(ours) == _as_dicts(reference), (account_ids, token_ids)
    everything = exposure_for(account_ids=every, token_ids=TOKENS, now=varied["now"])
    assert sum(everything.account_today.values()) > 0
    assert len(everything.account_market) == 9


def test_the_exposure_counts_open_orders_at_planned_notional_and_fills_at_cost_only_for_buys() -> None:
    """Issue 17, fix 2: in-flight and FILLED rows counted their notional without any fee, so with
    confirmations lagging 30 of 300 daily caps ended up to $5.34 over once the fees were charged.
    They count the worst-case fee they were planned with; a confirmed row its real fee."""
    now = timezone.now()
    follow = make_relationship(account=make_account(), leader=make_leader())
    worst = {"planned_fee_usdc": Decimal("0.5")}
    for status in _OPEN:
        _trade(follow, status=status, side="BUY", token=TOKEN_YES, planned_usdc=Decimal(10), **worst)
    _trade(
        follow, status="filled", side="BUY", token=TOKEN_YES, planned_usdc=Decimal(10), fill_usdc=Decimal(8), **worst
    )
    _trade(
        follow,
        status="confirmed",
        side="BUY",
        token=TOKEN_NO,
        planned_usdc=Decimal(10),
        fill_usdc=Decimal(7),
        fee_usdc=Decimal("0.2"),
        **worst,
    )
    _trade(follow, status="signed", side="SELL", token=TOKEN_YES, planned_usdc=Decimal(100), **worst)
    _trade(follow, status="rejected", side="BUY", token=TOKEN_YES, planned_usdc=Decimal(100), **worst)
    exposure = exposure_for(account_ids=[follow.account_id], token_ids=[TOKEN_YES, TOKEN_NO], now=now)
    # 4 open x (10 + 0.5) + filled (8 + 0.5) + confirmed (7 + 0.2)
    assert exposure.follow_today[follow.id] == exposure.account_today[follow.account_id] == Decimal("57.7")
    # A confirmed fill is in the position (none here), not in the unsettled orders.
    assert exposure.follow_market == {(follow.id, TOKEN_YES): Decimal("50.5")}


def _values(instance: models.Model) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def _same(ours: models.Model | None, reference: models.Model | None) -> None:
    assert type(ours) is type(reference)
    if ours is None or reference is None:
        return
    mine, theirs = _values(ours), _values(reference)
    assert mine == theirs
    assert {name: type(value) for name, value in mine.items()} == {name: type(v) for name, v in theirs.items()}
    assert (ours._state.adding, ours._state.db) == (reference._state.adding, reference._state.db)


def test_leased_rows_load_as_the_orm_loads_them_with_their_related_rows() -> None:
    now = timezone.now()
    speed = make_account(
        mode=TradingAccount.Mode.SPEED,
        signer_address="0x" + "ab" * 20,
        private_key_ciphertext=b"\x00sealed\xff",
        paused=True,
    )
    follows = [make_relationship(account=speed), make_relationship(max_position_usdc_per_market=Decimal("12.5"))]
    rows = [
        _trade(follows[0], status="claimed", side="BUY", token=TOKEN_YES, planned_usdc=Decimal("7.123456")),
        _trade(follows[1], status="claimed", side="SELL", token=TOKEN_NO, trade_ids=["t-1", "t-2"]),
        _trade(follows[1], status="signed", side="BUY", token=TOKEN_YES, signed_order={"order": {"salt": 1}}),
        CopyTrade.objects.create(
            relationship=follows[0],
            account=speed,
            deployment=shared_deployment(),
            trigger=CopyTrade.Trigger.TAKE_PROFIT,
            signal_price=Decimal("0.9"),
            signal_at=now,
            side="SELL",
            token_id=TOKEN_NO,
            status=CopyTrade.Status.CLAIMED,
            deadline_at=now + timedelta(minutes=10),
        ),
        _trade(follows[0], status="claimed", side="BUY", token=TOKEN_NO),  # leased to someone else
    ]
    ids = [row.id for row in rows]
    CopyTrade.objects.filter(id__in=ids[:4]).update(lease_owner="me", lease_until=now, lease_version=3)
    CopyTrade.objects.filter(id=ids[4]).update(lease_owner="other")
    assert rows[0].leader_trade_id is not None
    LeaderTrade.objects.filter(id=rows[0].leader_trade_id).update(status=LeaderTrade.Status.RETRACTED)

    for status in (CopyTrade.Status.CLAIMED, None):
        reference = CopyTrade.objects.filter(id__in=ids, lease_owner="me").select_related(
            "relationship", "account", "leader_trade__leader"
        )
        if status is not None:
            reference = reference.filter(status=status)
        expected = list(reference.order_by("id"))
        loaded = load_held(ids=[*reversed(ids), 10**9], owner="me", status=status)
        assert [row.id for row in loaded] == [row.id for row in expected] != []
        for ours, theirs in zip(loaded, expected, strict=True):
            _same(ours, theirs)
            _same(ours.relationship, theirs.relationship)
            _same(ours.account, theirs.account)
            _same(ours.leader_trade, theirs.leader_trade)
            if theirs.leader_trade is not None:
                assert ours.leader_trade is not None
                _same(ours.leader_trade.leader, theirs.leader_trade.leader)
    assert [row.id for row in load_held(ids=ids, owner="me", status="claimed")] == [ids[0], ids[1], ids[3]]
    assert load_held(ids=[], owner="me") == []
    assert load_held(ids=ids, owner="nobody") == []


def test_loaded_rows_need_no_further_query_for_the_gate(django_assert_num_queries: Any) -> None:
    row = _trade(make_relationship(), status="claimed", side="BUY", token=TOKEN_YES)
    CopyTrade.objects.filter(id=row.id).update(lease_owner="me")
    with django_assert_num_queries(1):
        (loaded,) = load_held(ids=[row.id], owner="me")
        assert loaded.leader_trade is not None
        touched = (loaded.relationship.status, loaded.account.paused, loaded.leader_trade.leader.paused)
    assert touched == (row.relationship.status, row.account.paused, False)


def test_defaultdict_exposure_is_still_a_mapping_with_zero_for_unknown_keys() -> None:
    exposure = exposure_for(account_ids=[10**9], token_ids=[TOKEN_YES], now=timezone.now())
    assert exposure.follow_today[1] == Decimal(0)
    assert isinstance(exposure.follow_today, defaultdict)


def _take(ids: list[int], *, now: datetime) -> list[CopyTrade]:
    """Staff's "reconcile now" take: these rows, due or not, if nobody holds them."""
    statuses = [*CopyTrade.AWAITING_VENUE, CopyTrade.Status.FILLED]
    return take_due(statuses=statuses, now=now, limit=len(ids), ids=ids)


def test_the_reconciler_takes_only_the_given_rows_not_held_elsewhere_with_their_related_rows(
    django_assert_num_queries: Any,
) -> None:
    now = timezone.now()
    follow = make_relationship()
    free, held_elsewhere, finished, not_asked = (
        _trade(follow, status=status, side="BUY", token=TOKEN_YES) for status in ("unknown", "live", "rejected", "live")
    )
    CopyTrade.objects.filter(id=held_elsewhere.id).update(lease_owner="other", lease_until=now + timedelta(seconds=30))
    taken = _take([free.id, held_elsewhere.id, finished.id], now=now)
    assert [row.id for row in taken] == [free.id]
    (row,) = taken
    assert (row.lease_version, row.lease_owner != "") == (free.lease_version + 1, True)
    with django_assert_num_queries(0):
        assert row.leader_trade is not None
        assert (row.account.id, row.relationship.id, row.leader_trade.leader.id) == (
            follow.account_id,
            follow.id,
            follow.leader_id,
        )
    untouched = CopyTrade.objects.get(id=not_asked.id)
    assert (untouched.lease_owner, untouched.lease_version) == ("", not_asked.lease_version)
    assert CopyTrade.objects.get(id=held_elsewhere.id).lease_owner == "other"
    assert _take([held_elsewhere.id], now=now) == []


def test_the_current_deployment_is_read_by_key_and_the_shared_one_created_once() -> None:
    Deployment.objects.filter(key=Deployment.SHARED_KEY).delete()
    with override_settings(RUN_MODE=Deployment.Kind.SHARED_BACKEND):
        created = deployment_current()
        again = deployment_current()
    assert (created.key, created.kind, again.id) == (Deployment.SHARED_KEY, Deployment.Kind.SHARED_BACKEND, created.id)
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED)
    with override_settings(RUN_MODE=Deployment.Kind.USER_DEDICATED, DEPLOYMENT_ID="vip"):
        assert deployment_current().id == vip.id
    with (
        override_settings(RUN_MODE=Deployment.Kind.USER_DEDICATED, DEPLOYMENT_ID="nobody"),
        pytest.raises(ImproperlyConfigured, match="nobody"),
    ):
        deployment_current()
    # A shared deployment's key is never served as a dedicated one.
    with (
        override_settings(RUN_MODE=Deployment.Kind.USER_DEDICATED, DEPLOYMENT_ID=Deployment.SHARED_KEY),
        pytest.raises(ImproperlyConfigured),
    ):
        deployment_current()
