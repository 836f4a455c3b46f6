"""Session-key custody under the reliability scenarios: the deposit wallet's owner revokes
PolyHunter's signer in the middle of a burst (S40 for session accounts), and I1-I5 with session
accounts among speed accounts while the venue loses answers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import SessionKey, TradingAccount
from copytrading.controls import SESSION_LOST_PAUSE
from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Deployment
from copytrading.reasons import Reason
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import (
    Venue,
    execute,
    follow,
    fresh,
    leader_buy,
    owner_key,
    reconcile_until_settled,
    session_account,
    speed_account,
)
from tests.factories import make_leader
from tests.follower_side import revoke

pytestmark = [pytest.mark.session_custody, pytest.mark.django_db(transaction=True)]


def burst(deployment: Deployment, leader_trades: int, **follow_to: object) -> list[CopyTrade]:
    """Fan out ``leader_trades`` BUYs of one leader; the PENDING rows of every follow."""
    leader = follow_to.pop("leader")
    ids: list[int] = []
    for _ in range(leader_trades):
        trade = leader_buy(leader)  # type: ignore[arg-type]
        ids += fanout_leader_trade(leader_trade_id=trade.id, deployment=deployment).pending_ids
    return list(CopyTrade.objects.filter(id__in=ids).order_by("id"))


def posts_for(venue: Venue, wallet: str, *, since: int = 0) -> int:
    return sum(1 for post in venue.proxy.order_posts()[since:] if wallet.lower() in post.body.lower())


def test_s40_a_revocation_mid_burst_pauses_the_session_account_after_one_refusal_and_places_nothing_more(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    leader = make_leader()
    revoked = session_account(venue, n=1)
    other_session = session_account(venue, n=2)
    speedy = speed_account(venue, n=3)
    for account in (revoked, other_session, speedy):
        follow(account, leader, sizing_value=Decimal(5), daily_cap_usdc=Decimal(500))

    first = execute(deployment, *burst(deployment, 2, leader=leader))
    assert {row.status for row in first} == {CopyTrade.Status.FILLED}
    assert posts_for(venue, revoked.funder_address) == 2

    # The owner revokes PolyHunter's signer with their own tools while leader trades keep coming.
    revoke(venue.sim.url, owner_key(1), revoked.signer_address)
    mark = len(venue.proxy.order_posts())
    rows = execute(deployment, *burst(deployment, 4, leader=leader))

    of_revoked = [row for row in rows if row.account_id == revoked.id]
    refused = [row for row in of_revoked if row.status == CopyTrade.Status.REJECTED]
    assert len(refused) == 1
    assert refused[0].reason_detail == "invalid_signature: invalid signature"
    held = [row for row in of_revoked if row.status == CopyTrade.Status.BLOCKED]
    assert len(held) == 3
    assert {(row.reason_code, row.submit_count) for row in held} == {(Reason.ACCOUNT_PAUSED, 0)}
    assert posts_for(venue, revoked.funder_address, since=mark) == 1  # one refusal, then nothing
    revoked.refresh_from_db()
    assert (revoked.paused, revoked.paused_reason) == (True, SESSION_LOST_PAUSE)
    assert SessionKey.objects.get(account=revoked, state="current").revoked_at is not None

    others = [row for row in rows if row.account_id != revoked.id]
    assert len(others) == 8
    assert {row.status for row in others} == {CopyTrade.Status.FILLED}  # other followers unaffected
    assert not TradingAccount.objects.get(id=other_session.id).paused

    # The next leader trades, and the reconciler, leave the paused account alone.
    seen = {row.id for row in [*first, *rows]}
    execute(deployment, *burst(deployment, 2, leader=leader))
    later = CopyTrade.objects.filter(account=revoked).exclude(id__in=seen)
    assert {(row.status, row.reason_code) for row in later} == {(CopyTrade.Status.SKIPPED, Reason.ACCOUNT_PAUSED)}
    reconcile_until_settled(deployment, venue=venue)
    assert posts_for(venue, revoked.funder_address, since=mark) == 1
    assert all(order["maker_address"] != revoked.funder_address for order in venue.sim.orders()[-12:])
    check()


def test_i1_to_i5_hold_with_session_accounts_among_speed_accounts_while_answers_are_lost(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    leader = make_leader()
    accounts = [session_account(venue, n=10), speed_account(venue, n=11), session_account(venue, n=12)]
    for account in accounts:
        follow(account, leader, sizing_value=Decimal(5), daily_cap_usdc=Decimal(500))
    venue.sim.add_fault("drop", "POST /order", count=2)
    venue.proxy.add_fault("reset", "POST", "/order", count=1)
    rows = execute(deployment, *burst(deployment, 3, leader=leader))
    assert CopyTrade.Status.UNKNOWN in {row.status for row in rows}

    reconcile_until_settled(deployment, venue=venue)
    settled = [fresh(row) for row in rows]
    assert {row.status for row in settled} == {CopyTrade.Status.CONFIRMED}
    session_makers = {accounts[0].funder_address, accounts[2].funder_address}
    assert {str(order["maker_address"]) for order in venue.sim.orders()} >= session_makers
    for row in settled:
        assert row.signed_order is not None
        body = row.signed_order["body"]
        if row.account.mode == TradingAccount.Mode.SESSION:
            assert '"signatureType":3' in body
            assert row.signed_order["api_address"].lower() == row.account.signer_address
    check()
