"""Operator wallets' float and gas re-read from the local chain without `fleet status`: by the
fleet tick's bounded refresh (wallets in use first, then the ones read longest ago) and after
each settlement of a wallet — checkout compares an order against the last reading."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from copytrading.models import CopyTrade
from copytrading.pipeline.fleet_settle import fleet_settle
from execution.fleet.checkout import wallet_checkout
from execution.fleet.models import OperatorWallet
from execution.fleet.wallets import fleet_refresh_balances
from tests.copytrading.fleet.conftest import FleetWorld
from tests.copytrading.fleet.test_fleet_settlement import UNIT, place_and_confirm

pytestmark = [pytest.mark.fleet, pytest.mark.django_db(transaction=True)]


def stored(wallet: OperatorWallet) -> OperatorWallet:
    return OperatorWallet.objects.get(pk=wallet.pk)


def test_a_settlement_re_reads_its_wallet_before_giving_it_back(fleet_world: FleetWorld) -> None:
    account, _ = fleet_world.follower(pusd="100")
    row = place_and_confirm(fleet_world, fleet_world.copy(account))
    assert row.operator_wallet is not None
    wallet = row.operator_wallet
    # While the copy was out, the operator's float on chain dropped by the fill; the stored
    # reading is still the one taken before.
    assert fleet_world.pusd(wallet.address) < Decimal(1000) * UNIT
    OperatorWallet.objects.filter(pk=wallet.pk).update(balances_read_at=timezone.now() - timedelta(hours=1))
    assert fleet_settle(row.id) == "settled"
    after = stored(wallet)
    assert after.float_usdc * UNIT == fleet_world.pusd(wallet.address) == Decimal(1000) * UNIT
    assert after.gas_pol is not None
    assert Decimal(0) < after.gas_pol < Decimal(10)
    assert after.balances_read_at is not None
    assert after.balances_read_at > timezone.now() - timedelta(minutes=1)
    assert after.lease_holder == ""
    assert CopyTrade.objects.get(pk=row.pk).status == CopyTrade.Status.SETTLED


def test_the_fleet_tick_refresh_is_bounded_in_use_first_then_oldest(fleet_world: FleetWorld) -> None:
    first, second = fleet_world.wallets
    long_ago = timezone.now() - timedelta(hours=2)
    # Stale readings: the first wallet "read" long ago as empty, the second more recently but
    # leased by a copy now (its float is moving).
    OperatorWallet.objects.filter(pk=first.pk).update(float_usdc=0, gas_pol=0, balances_read_at=long_ago)
    OperatorWallet.objects.filter(pk=second.pk).update(
        float_usdc=1,
        balances_read_at=long_ago + timedelta(hours=1),
        lease_holder="copy:0",
        lease_until=timezone.now() + timedelta(minutes=5),
    )
    assert wallet_checkout(holder="copy:1", need_usdc=Decimal(5), activity="test").wallet is None

    (read,) = fleet_refresh_balances(limit=1)
    assert read.pk == second.pk  # in use first, although the other was read longer ago
    assert stored(second).float_usdc == Decimal(1000)
    assert stored(first).float_usdc == 0
    (read,) = fleet_refresh_balances(limit=1)
    assert read.pk == first.pk  # the one in use was just read: the oldest reading next
    assert (stored(first).float_usdc, stored(first).gas_pol) == (Decimal(1000), Decimal(10))
    got = wallet_checkout(holder="copy:1", need_usdc=Decimal(5), activity="test").wallet
    assert got is not None
    assert got.pk == first.pk

    OperatorWallet.objects.filter(pk=first.pk).update(state=OperatorWallet.State.DISABLED)
    assert [w.pk for w in fleet_refresh_balances(limit=4)] == [second.pk]  # disabled wallets are not read
