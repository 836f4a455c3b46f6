"""Positive controls: the I1-I5 checker fails on each kind of violation it exists to catch."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.utils import timezone

from copytrading.models import CopyTrade, Deployment, DetectorState
from copytrading.tasks import record_heartbeat
from execution.venue.auth import open_api_credentials
from execution.venue.gateway import default_gateway
from execution.venue.services import order_post
from execution.venue.signing import order_sign
from polyhunter.broker import send_to_queue
from tests.copytrading.reliability.harness import Evidence, Venue, execute, fresh, pending_copy
from tests.copytrading.reliability.invariants import Tracker, check_invariants
from tests.factories import TOKEN_YES

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def filled(venue: Venue, deployment: Deployment) -> CopyTrade:
    row = pending_copy(venue, deployment)
    (row,) = execute(deployment, row)
    assert row.status == CopyTrade.Status.FILLED
    return row


def fails(venue: Venue, evidence: Evidence, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check_invariants(venue, evidence, Tracker())


def test_the_checker_catches_a_second_signature_reaching_the_venue_for_one_copy(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    from execution.venue.orders import OrderRequest

    request = OrderRequest.market_buy(token_id=TOKEN_YES, amount=Decimal(5), max_price=Decimal("0.6"), order_type="FAK")
    resigned = order_sign(account=filled.account, request=request, market=default_gateway().market_info(TOKEN_YES))
    order_post(account=filled.account, payload=resigned)
    fails(venue, evidence, "I1: an order POST reached the venue that no CopyTrade holds")
    tracker.checked = True


def test_the_checker_catches_more_posts_than_the_copy_counted(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    CopyTrade.objects.filter(id=filled.id).update(submit_count=0)
    fails(venue, evidence, "I1: .* was POSTed 1 times but its submit_count says 0")
    tracker.checked = True


def test_the_checker_catches_a_daily_cap_exceeded_counting_unknown_outcomes(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    CopyTrade.objects.filter(id=filled.id).update(status=CopyTrade.Status.UNKNOWN)
    type(filled.relationship).objects.filter(id=filled.relationship_id).update(daily_cap_usdc=Decimal(5))
    fails(venue, evidence, "I2: follow .* committed \\$10.* > daily cap \\$5")
    tracker.checked = True


def test_the_checker_catches_fills_on_a_copy_that_says_it_never_traded(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    CopyTrade.objects.filter(id=filled.id).update(status=CopyTrade.Status.EXPIRED)
    fails(venue, evidence, "I2: .* is expired but the venue filled")
    tracker.checked = True


def test_the_checker_catches_a_copy_nobody_will_look_at(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    CopyTrade.objects.filter(id=filled.id).update(next_check_at=None, deadline_at=timezone.now())
    assert fresh(filled).deadline_at < timezone.now()
    fails(venue, evidence, "I3: .* is filled and nothing will look at it")
    tracker.checked = True


def test_the_checker_catches_a_venue_order_of_a_managed_wallet_that_maps_to_no_copy(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    CopyTrade.objects.filter(id=filled.id).update(order_hash=None, signed_order=None, submit_count=0)
    fails(venue, evidence, "I1|I4")
    tracker.checked = True


def _logged(secret: str) -> None:
    # Glued to other letters, so the log redaction cannot tell it is a 64-hex secret: the scan must.
    logging.getLogger("copytrading").debug("oops id%sz", secret.upper())


def _in_a_traceback(secret: str) -> None:
    try:
        raise RuntimeError(f"library said: id{secret}z")
    except RuntimeError:
        logging.getLogger("copytrading").exception("something failed")


def _stored(secret: str) -> None:
    DetectorState.objects.create(name="data_api", last_error=f"leader 1: id{secret}z")


@pytest.mark.parametrize(
    ("leak", "where"),
    [(_logged, "logs"), (_in_a_traceback, "logs"), (_stored, "DetectorState data_api")],
)
def test_the_checker_catches_a_secret_in_the_logs_a_traceback_or_a_stored_error(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade, leak: Callable[[str], None], where: str
) -> None:
    leak(open_api_credentials(account=filled.account).passphrase)
    fails(venue, evidence, f"I5: the passphrase of .* appears in {re.escape(where)}")
    tracker.checked = True


def test_the_checker_catches_a_secret_in_a_task_message(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    secret = open_api_credentials(account=filled.account).secret
    send_to_queue(record_heartbeat, "platform", secret)
    fails(venue, evidence, "I5: the API secret of .* appears in task message")
    tracker.checked = True


def test_the_checker_counts_the_fee_the_venue_charged_against_a_daily_cap(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    (trade,) = venue.sim.trades()
    cost, fee = Decimal(str(trade["usdc"])), Decimal(str(trade["fee"]))
    assert fee > 0
    # The cap covers what the order cost, but not what the follower paid with the fee.
    type(filled.relationship).objects.filter(id=filled.relationship_id).update(daily_cap_usdc=cost + fee / 2)
    fails(venue, evidence, "I2: follow .* > daily cap")
    tracker.checked = True


def test_the_checker_catches_a_per_market_cap_exceeded(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    type(filled.relationship).objects.filter(id=filled.relationship_id).update(max_position_usdc_per_market=Decimal(1))
    fails(venue, evidence, "I2: follow .* of token .* > market cap \\$1")
    tracker.checked = True


def test_the_checker_catches_a_private_key_inside_a_longer_token_in_any_case(
    venue: Venue, evidence: Evidence, tracker: Tracker, filled: CopyTrade
) -> None:
    from accounts.keyring import open_secret

    key = open_secret(account=filled.account, field="private_key_ciphertext").decode()
    logging.getLogger("execution").warning("signer=0X%sdeadbeef", key.removeprefix("0x").upper())
    fails(venue, evidence, "I5: the private key of .* appears in logs")
    tracker.checked = True
