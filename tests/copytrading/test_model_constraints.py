from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from copytrading.models import CopyTrade, WatchedWallet
from tests.factories import make_copy_trade, make_leader, make_leader_trade, make_relationship

pytestmark = pytest.mark.django_db

HASH = "0x" + "ab" * 32


def test_it_refuses_a_second_copy_of_one_leader_trade_for_one_follow() -> None:
    first = make_copy_trade()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_copy_trade(relationship=first.relationship, leader_trade=first.leader_trade)


def test_it_allows_the_same_leader_trade_for_another_follow() -> None:
    first = make_copy_trade()
    other = make_relationship(leader=first.relationship.leader)
    make_copy_trade(relationship=other, leader_trade=first.leader_trade)
    assert CopyTrade.objects.filter(leader_trade=first.leader_trade).count() == 2


def test_it_refuses_a_duplicate_order_hash() -> None:
    make_copy_trade(order_hash=HASH, status=CopyTrade.Status.SIGNED)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_copy_trade(order_hash=HASH, status=CopyTrade.Status.SIGNED)


def test_it_allows_many_rows_without_an_order_hash() -> None:
    make_copy_trade()
    make_copy_trade()
    assert CopyTrade.objects.filter(order_hash__isnull=True).count() == 2


def test_it_refuses_a_sent_status_without_an_order_hash() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make_copy_trade(status=CopyTrade.Status.UNKNOWN)


def test_it_refuses_a_duplicate_leader_trade_dedupe_key() -> None:
    trade = make_leader_trade()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_leader_trade(leader=trade.leader, tx_hash=trade.tx_hash, token_id=trade.token_id, side=trade.side)


def test_it_stores_addresses_lower_case() -> None:
    leader = make_leader(address="0x6d8c4e9aDF5748Af82Dabe2C6225207770d6B4fa")
    leader.refresh_from_db()
    assert leader.address == "0x6d8c4e9adf5748af82dabe2c6225207770d6b4fa"
    assert WatchedWallet.objects.filter(address="0x6D8C4E9ADF5748AF82DABE2C6225207770D6B4FA").exists()


def test_it_refuses_an_address_with_a_wrong_checksum() -> None:
    leader = WatchedWallet(address="0x6d8c4e9aDF5748Af82Dabe2C6225207770d6B4fA")
    with pytest.raises(ValidationError, match="checksum"):
        leader.full_clean()


def test_it_refuses_a_malformed_address() -> None:
    with pytest.raises(ValidationError, match="not a 0x-prefixed"):
        WatchedWallet(address="0x1234").full_clean()


def test_the_state_machine_allows_only_forward_transitions() -> None:
    assert CopyTrade.can_transition(CopyTrade.Status.PENDING, CopyTrade.Status.CLAIMED)
    assert CopyTrade.can_transition(CopyTrade.Status.UNKNOWN, CopyTrade.Status.FILLED)
    assert not CopyTrade.can_transition(CopyTrade.Status.SIGNED, CopyTrade.Status.PENDING)
    assert not CopyTrade.can_transition(CopyTrade.Status.UNKNOWN, CopyTrade.Status.SIGNED)
    for terminal in CopyTrade.TERMINAL:
        assert not any(CopyTrade.can_transition(terminal, s) for s in CopyTrade.Status.values)
    non_terminal = set(CopyTrade.Status.values) - CopyTrade.TERMINAL
    assert set(CopyTrade.TRANSITIONS) == non_terminal


def test_the_final_statuses_of_indexes_and_constraints_are_the_terminal_ones() -> None:
    from copytrading.models.trades import FINAL_STATUSES

    assert set(FINAL_STATUSES) == set(CopyTrade.TERMINAL)
