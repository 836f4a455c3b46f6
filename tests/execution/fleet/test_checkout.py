from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from execution.fleet.checkout import wallet_checkin, wallet_checkout
from execution.fleet.models import OperatorWallet
from execution.fleet.wallets import wallet_record_balances

pytestmark = pytest.mark.fleet


def fund(wallets: list[OperatorWallet], *, usdc: str, pol: str = "1") -> None:
    for wallet in wallets:
        wallet_record_balances(wallet_id=wallet.pk, float_usdc=Decimal(usdc), gas_pol=Decimal(pol))


@pytest.mark.django_db
def test_it_leases_a_funded_wallet_and_gives_the_same_one_to_the_same_copy(fleet_wallets: list[OperatorWallet]) -> None:
    fund(fleet_wallets, usdc="100")
    first = wallet_checkout(holder="copy:1", need_usdc=Decimal(10), activity="buying")
    again = wallet_checkout(holder="copy:1", need_usdc=Decimal(10), activity="settling")
    assert first.wallet is not None
    assert again.wallet is not None
    assert again.wallet.pk == first.wallet.pk
    held = OperatorWallet.objects.get(pk=first.wallet.pk)
    assert (held.lease_holder, held.in_flight, held.activity) == ("copy:1", 1, "settling")


@pytest.mark.django_db
def test_it_skips_wallets_short_of_float_or_gas(fleet_wallets: list[OperatorWallet]) -> None:
    fund(fleet_wallets[:1], usdc="5")
    fund(fleet_wallets[1:2], usdc="500", pol="0")
    fund(fleet_wallets[2:], usdc="50")
    got = wallet_checkout(holder="copy:1", need_usdc=Decimal(20), activity="buying")
    assert got.wallet is not None
    assert got.wallet.index == 2
    none = wallet_checkout(holder="copy:2", need_usdc=Decimal(20), activity="buying")
    assert none.wallet is None
    assert none.reason == "no free operator wallet has the 20 pUSD and the gas this order needs"


@pytest.mark.django_db
def test_it_says_when_every_wallet_is_busy_or_off(fleet_wallets: list[OperatorWallet]) -> None:
    fund(fleet_wallets, usdc="100")
    for n in range(3):
        assert wallet_checkout(holder=f"copy:{n}", need_usdc=Decimal(1), activity="x").wallet is not None
    assert wallet_checkout(holder="copy:9", need_usdc=Decimal(1), activity="x").reason == (
        "every operator wallet is busy with another copy"
    )
    OperatorWallet.objects.update(state=OperatorWallet.State.DISABLED)
    assert wallet_checkout(holder="copy:9", need_usdc=Decimal(1), activity="x").reason == (
        "no operator wallet is taking copies right now"
    )


@pytest.mark.django_db
def test_a_crashed_holders_lease_expires_and_checkin_is_the_holders_alone(fleet_wallets: list[OperatorWallet]) -> None:
    fund(fleet_wallets[:1], usdc="100")
    crashed = wallet_checkout(holder="copy:1", need_usdc=Decimal(1), activity="x").wallet
    assert crashed is not None
    assert wallet_checkout(holder="copy:2", need_usdc=Decimal(1), activity="x").wallet is None
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        taken = wallet_checkout(holder="copy:2", need_usdc=Decimal(1), activity="x").wallet
    assert taken is not None
    assert taken.pk == crashed.pk
    assert not wallet_checkin(wallet_id=crashed.pk, holder="copy:1")  # the old holder lost it
    assert wallet_checkin(wallet_id=crashed.pk, holder="copy:2")
    assert OperatorWallet.objects.get(pk=crashed.pk).lease_holder == ""


@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_never_share_a_wallet(fleet_wallets: list[OperatorWallet]) -> None:
    fund(fleet_wallets, usdc="100")
    start = threading.Barrier(5)
    got: dict[str, int | None] = {}

    def take(holder: str) -> None:
        try:
            start.wait()
            wallet = wallet_checkout(holder=holder, need_usdc=Decimal(1), activity="x").wallet
            got[holder] = wallet.index if wallet else None
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(f"copy:{n}",)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [index for index in got.values() if index is not None]
    assert sorted(taken) == [0, 1, 2]
    assert sorted(OperatorWallet.objects.values_list("lease_holder", flat=True)) == sorted(
        h for h, i in got.items() if i is not None
    )
