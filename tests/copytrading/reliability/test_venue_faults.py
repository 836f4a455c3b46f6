"""Scenarios about the venue's answers (docs/pipeline.md, reliability suite): lost, late, refused, throttled, halted,
partial, resolved. The simulator injects the faults; the recording proxy stands in where the
simulator has no knob (a request that never arrives, a lookup that lags, a market resolving)."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.test import override_settings

from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Deployment, Position
from copytrading.pipeline.execute import copytrades_execute
from copytrading.reasons import Reason
from execution.models import GuardrailSettings
from execution.venue.gateway import default_gateway
from tests.copytrading.pipeline.conftest import CONDITION
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import (
    Venue,
    execute,
    follow,
    fresh,
    leader_buy,
    limits,
    pending_copy,
    ready_at,
    reconcile_once,
    reconcile_until_settled,
    speed_account,
    wait_for,
)
from tests.factories import TOKEN_YES

pytestmark = pytest.mark.django_db(transaction=True)


def posts_of(venue: Venue, row: CopyTrade) -> int:
    assert row.signed_order is not None
    return sum(1 for post in venue.proxy.order_posts() if post.body == row.signed_order["body"])


def test_s03_a_lost_answer_read_timeout_is_unknown_then_found_by_hash_without_a_new_signature(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    row = pending_copy(venue, deployment)
    venue.sim.add_fault("delay_after", "POST /order", delay_ms=1_500)
    with override_settings(VENUE_READ_TIMEOUT=0.3):
        default_gateway.cache_clear()
        (row,) = execute(deployment, row)
    default_gateway.cache_clear()
    assert (row.status, row.reason_code) == (CopyTrade.Status.UNKNOWN, "transport_error")
    order_hash = row.order_hash
    assert order_hash is not None

    reconcile_until_settled(deployment, venue=venue)
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED
    assert row.order_hash == order_hash
    assert [o["id"] for o in venue.sim.orders()] == [order_hash]
    assert posts_of(venue, row) == row.submit_count == 1
    check()


def test_s04_a_request_that_never_reached_the_venue_is_unknown_and_the_same_bytes_are_sent_once_more(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    row = pending_copy(venue, deployment)
    venue.proxy.add_fault("reset", "POST", "/order")
    (row,) = execute(deployment, row)
    assert row.status == CopyTrade.Status.UNKNOWN
    assert venue.sim.orders() == []

    reconcile_until_settled(deployment, venue=venue)
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED
    assert [o["id"] for o in venue.sim.orders()] == [row.order_hash]
    assert posts_of(venue, row) == row.submit_count == 2
    assert [post.forwarded for post in venue.proxy.order_posts()] == [False, True]
    check()


def test_s06_a_duplicate_answer_is_unknown_and_reconciled_to_the_order_already_placed_never_rejected(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    row = pending_copy(venue, deployment)
    venue.sim.add_fault("drop", "POST /order")
    (row,) = execute(deployment, row)
    assert row.status == CopyTrade.Status.UNKNOWN
    assert row.order_hash is not None
    # The venue's read side lags: two lookups answer "not found", so the reconciler resends.
    venue.proxy.add_fault("null", "GET", f"/data/order/{row.order_hash}", count=2)
    reconcile_once(deployment, at=ready_at(row))
    reconcile_once(deployment, at=ready_at(fresh(row)))
    row = fresh(row)
    assert (row.status, row.reason_code) == (CopyTrade.Status.UNKNOWN, "duplicate")

    reconcile_until_settled(deployment, venue=venue)
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED
    assert [o["id"] for o in venue.sim.orders()] == [row.order_hash]
    assert posts_of(venue, row) == row.submit_count == 2
    check()


def test_s07_a_5xx_on_submit_is_unknown_never_failed_and_the_reconciler_records_the_real_state(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    rows = [pending_copy(venue, deployment, n=n) for n in (1, 2, 3)]
    venue.sim.add_fault("error_after", "POST /order", status=500)  # committed, then 500
    venue.sim.add_fault("error_after", "POST /order", status=502)  # committed, then 502
    venue.sim.add_fault("error_before", "POST /order", status=500)  # refused before committing
    rows = execute(deployment, *rows)
    assert [(row.status, row.reason_code) for row in rows] == [(CopyTrade.Status.UNKNOWN, "server_error")] * 3
    assert len(venue.sim.orders()) == 2

    reconcile_until_settled(deployment, venue=venue)
    rows = [fresh(row) for row in rows]
    assert [row.status for row in rows] == [CopyTrade.Status.CONFIRMED] * 3
    assert sorted(str(o["id"]) for o in venue.sim.orders()) == sorted(str(row.order_hash) for row in rows)
    assert [posts_of(venue, row) for row in rows] == [row.submit_count for row in rows] == [1, 1, 2]
    check()


def test_s08_throttled_submits_keep_their_signature_and_are_resent_or_expire_when_the_signal_is_too_old(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    rows = [pending_copy(venue, deployment, n=n) for n in (1, 2)]
    venue.sim.add_fault("rate_limit", "POST /order", retry_after_s=1)
    venue.sim.add_fault("too_early", "POST /order", retry_after_s=1)
    rows = execute(deployment, *rows)
    assert [row.status for row in rows] == [CopyTrade.Status.SIGNED] * 2
    assert [row.reason_code for row in rows] == ["retry_later:rate_limited", "retry_later:engine_restarting"]
    hashes = [row.order_hash for row in rows]

    reconcile_until_settled(deployment, venue=venue)
    rows = [fresh(row) for row in rows]
    assert [row.status for row in rows] == [CopyTrade.Status.CONFIRMED] * 2
    assert [row.order_hash for row in rows] == hashes
    assert [posts_of(venue, row) for row in rows] == [row.submit_count for row in rows] == [2, 2]

    # Throttled again, and this time the reconciler comes back after the signal's age budget.
    late = pending_copy(venue, deployment, n=3)
    venue.sim.add_fault("rate_limit", "POST /order", retry_after_s=60)
    (late,) = execute(deployment, late)
    max_age = timedelta(seconds=GuardrailSettings.current().max_leader_trade_age_seconds)
    reconcile_until_settled(deployment, venue=venue, start=late.signal_time + max_age + timedelta(seconds=1))
    late = fresh(late)
    assert (late.status, late.reason_code) == (CopyTrade.Status.EXPIRED, Reason.NOT_FOUND)
    assert posts_of(venue, late) == late.submit_count == 1
    check()


def after_second(second: int) -> bool:
    return int(time.time()) > second


def test_s08_an_empty_signer_bucket_hands_copies_back_unsigned_and_each_is_sent_once_when_its_turn_comes(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    limits(signer_orders_per_second=1)
    relationship = follow(speed_account(venue, n=1))
    trades = [leader_buy(relationship.leader) for _ in range(6)]
    ids = [i for t in trades for i in fanout_leader_trade(leader_trade_id=t.id, deployment=deployment).pending_ids]
    window = -1
    for _ in range(12):
        pending = CopyTrade.objects.filter(id__in=ids, status=CopyTrade.Status.PENDING)
        waiting = list(pending.values_list("id", flat=True))
        if not waiting:
            break
        # What the sweeper does for rows handed back: execute them again, in the next window.
        wait_for(partial(after_second, window), what="the signer's next one-second window")
        window = int(time.time())
        copytrades_execute(ids=waiting, deployment=deployment)
        for row in CopyTrade.objects.filter(id__in=ids, status=CopyTrade.Status.PENDING):
            assert (row.order_hash, row.signed_order, row.reason_detail) == (None, None, "signer rate limit")
    rows = list(CopyTrade.objects.filter(id__in=ids))
    assert [row.status for row in rows] == [CopyTrade.Status.FILLED] * 6, [(r.status, r.attempts) for r in rows]
    assert len(venue.sim.orders()) == len(venue.proxy.order_posts()) == 6
    reconcile_until_settled(deployment, venue=venue)
    check()


@pytest.mark.parametrize("mode", ["cancel_only", "disabled"])
def test_s09_a_halted_venue_places_nothing_and_the_same_bytes_go_once_it_reopens(
    venue: Venue, deployment: Deployment, check: Checker, mode: str
) -> None:
    venue.sim.set_trading_mode(mode)
    row = pending_copy(venue, deployment)
    (row,) = execute(deployment, row)
    assert row.status == CopyTrade.Status.SIGNED
    assert row.reason_code.startswith("retry_later:")
    signed_bytes = row.signed_order
    # Still halted: the reconciler finds nothing and may resend the same bytes, refused again.
    at = ready_at(row)
    for _ in range(3):
        reconcile_once(deployment, at=at)
        at = ready_at(fresh(row))
    row = fresh(row)
    assert row.status == CopyTrade.Status.SIGNED
    assert row.signed_order == signed_bytes
    assert venue.sim.orders() == []
    halted_posts = posts_of(venue, row)
    assert halted_posts == row.submit_count

    venue.sim.set_trading_mode("normal")
    reconcile_until_settled(deployment, venue=venue, start=at)
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED
    assert row.signed_order == signed_bytes
    assert [o["id"] for o in venue.sim.orders()] == [row.order_hash]
    assert posts_of(venue, row) == row.submit_count == halted_posts + 1
    check()


def test_s10_a_definitive_reject_is_final_with_its_reason_and_never_sent_again(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    poor = pending_copy(venue, deployment, n=1)
    venue.sim.set_balance(poor.account.signer_address, pusd="0.5")
    (poor,) = execute(deployment, poor)
    # The market info is cached (accepting orders); the venue closes the market right after.
    closed = pending_copy(venue, deployment, n=2)
    default_gateway().market_info(TOKEN_YES)
    venue.sim.set_market(CONDITION, accepting_orders=False)
    (closed,) = execute(deployment, closed)

    reconcile_until_settled(deployment, venue=venue)
    poor, closed = fresh(poor), fresh(closed)
    assert (poor.status, poor.reason_code) == (CopyTrade.Status.REJECTED, Reason.VENUE_REJECTED)
    assert poor.reason_detail.startswith("not_enough_balance:")
    assert (closed.status, closed.reason_code) == (CopyTrade.Status.REJECTED, Reason.VENUE_REJECTED)
    assert closed.reason_detail.startswith("market_not_ready:")
    assert [posts_of(venue, poor), posts_of(venue, closed)] == [1, 1]
    assert venue.sim.orders() == []
    check()


def test_s24_a_partial_fill_records_the_size_matched_and_the_remainder_is_not_resubmitted(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    venue.sim.set_book(TOKEN_YES, bids=[("0.55", "100")], asks=[("0.57", "5")], replenish=False)
    row = pending_copy(venue, deployment)
    (row,) = execute(deployment, row)
    assert row.status == CopyTrade.Status.FILLED
    assert row.size_matched == Decimal(5)
    assert row.planned_size is not None
    assert row.size_matched < row.planned_size

    reconcile_until_settled(deployment, venue=venue)
    row = fresh(row)
    assert row.status == CopyTrade.Status.CONFIRMED
    assert row.size_matched == Decimal(5)
    assert row.fill_usdc == Decimal("2.85")
    assert Position.objects.get(relationship=row.relationship).shares == Decimal(5)
    assert CopyTrade.objects.count() == 1
    assert posts_of(venue, row) == row.submit_count == 1
    assert len(venue.sim.orders()) == 1
    check()


def test_s25_a_market_resolving_mid_flight_ends_the_copy_without_retry_and_keeps_its_fills(
    venue: Venue, deployment: Deployment, check: Checker
) -> None:
    # Resting: the venue holds the marketable order (taker delay) when the market resolves.
    venue.sim.set_market(CONDITION, taker_delay_ms=3_600_000)
    resting = pending_copy(venue, deployment, n=1)
    (resting,) = execute(deployment, resting)
    assert resting.status == CopyTrade.Status.DELAYED
    venue.sim.set_market(CONDITION, taker_delay_ms=0)
    # Partly filled, its answer lost, and the market resolved before the reconciler asked.
    venue.sim.set_book(TOKEN_YES, bids=[("0.55", "100")], asks=[("0.57", "5")], replenish=False)
    venue.sim.add_fault("drop", "POST /order")
    partial = pending_copy(venue, deployment, n=2)
    (partial,) = execute(deployment, partial)
    assert partial.status == CopyTrade.Status.UNKNOWN
    resolved = {"status": "CANCELED_MARKET_RESOLVED"}
    venue.proxy.add_fault(
        "patch", "GET", f"/data/order/{resting.order_hash}", count=50, patch=resolved | {"size_matched": "0"}
    )
    venue.proxy.add_fault("patch", "GET", f"/data/order/{partial.order_hash}", count=50, patch=resolved)

    reconcile_until_settled(deployment, venue=venue)
    resting, partial = fresh(resting), fresh(partial)
    assert (resting.status, resting.reason_code) == (CopyTrade.Status.CANCELED, Reason.MARKET_RESOLVED)
    assert (partial.status, partial.size_matched) == (CopyTrade.Status.CONFIRMED, Decimal(5))
    assert Position.objects.get(relationship=partial.relationship).shares == Decimal(5)
    assert [posts_of(venue, resting), posts_of(venue, partial)] == [1, 1]
    check()
