"""polyhunter.lib.rows builds the instances a QuerySet would (types, state), from plain SQL;
the gate's switch and guardrail reads built on it answer as the ORM did."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from copytrading.models import Deployment
from execution.models import GuardrailSettings, TradingSwitch
from execution.switches import engaged_switches
from polyhunter.lib.rows import columns, select_one

pytestmark = pytest.mark.django_db


def test_a_row_selected_by_primary_key_is_the_orm_row() -> None:
    GuardrailSettings.objects.update_or_create(
        id=GuardrailSettings.SINGLETON_ID,
        defaults={"max_order_usdc": Decimal("12.345678"), "breaker_unknown_ratio": Decimal("0.125")},
    )
    ours = select_one(GuardrailSettings, id=GuardrailSettings.SINGLETON_ID)
    theirs = GuardrailSettings.objects.get(id=GuardrailSettings.SINGLETON_ID)
    assert ours is not None
    for field in GuardrailSettings._meta.concrete_fields:
        mine, reference = getattr(ours, field.attname), getattr(theirs, field.attname)
        assert (mine, type(mine)) == (reference, type(reference)), field.name
    assert (ours._state.adding, ours._state.db) == (False, "default")
    assert select_one(GuardrailSettings, id=2) is None
    with pytest.raises(ValueError, match="not a column"):
        select_one(Deployment, copy_trades=1)  # a reverse relation has no column here


def test_a_row_selected_by_unique_columns_is_the_orm_row() -> None:
    vip = Deployment.objects.create(key="vip", kind=Deployment.Kind.USER_DEDICATED, description="VIP")
    ours = select_one(Deployment, key="vip", kind=Deployment.Kind.USER_DEDICATED)
    assert ours is not None
    assert [getattr(ours, f.attname) for f in Deployment._meta.concrete_fields] == [
        getattr(vip, f.attname) for f in Deployment._meta.concrete_fields
    ]
    assert select_one(Deployment, key="vip", kind=Deployment.Kind.SHARED_BACKEND) is None


def test_the_guardrails_are_created_on_the_first_read_then_read_by_primary_key() -> None:
    GuardrailSettings.objects.all().delete()
    first = GuardrailSettings.current()
    assert (first.id, first.max_order_usdc) == (1, Decimal(500))
    GuardrailSettings.objects.filter(id=1).update(max_order_usdc=Decimal(7))
    assert GuardrailSettings.current().max_order_usdc == Decimal(7)


def test_engaged_switches_are_the_engaged_rows_only() -> None:
    assert engaged_switches() == frozenset()
    TradingSwitch.objects.create(name=TradingSwitch.Name.KILL_SWITCH, engaged=True)
    TradingSwitch.objects.create(name=TradingSwitch.Name.PAUSE_COPIES, engaged=False)
    TradingSwitch.objects.create(name=TradingSwitch.Name.EXITS_ONLY, engaged=True)
    assert engaged_switches() == {TradingSwitch.Name.KILL_SWITCH, TradingSwitch.Name.EXITS_ONLY}


def test_column_plans_are_kept_per_connection_and_alias() -> None:
    plan = columns(TradingSwitch, "s")
    assert columns(TradingSwitch, "s") is plan
    assert columns(TradingSwitch, "x") is not plan
    assert plan.sql.startswith(f"{connection.ops.quote_name('s')}.")
