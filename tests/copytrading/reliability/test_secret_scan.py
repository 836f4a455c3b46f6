"""S33 (docs/reliability.md): the signing and authentication paths fail in every way they can, through
a real Dramatiq worker, and then nothing anywhere shows a key, an API secret or a passphrase: not
the logs at DEBUG, not the messages the broker carried, not the admin, the follower pages, the
console, the health check or the metrics.

(The platform keeps no copy of task messages in the database: django_dramatiq's AdminMiddleware,
which would, is not installed — tests/pages/test_secret_scan.py scans every admin page of every
model besides.)
"""

from __future__ import annotations

from typing import Any

import dramatiq
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import TradingAccount
from copytrading.fanout import fanout_leader_trade
from copytrading.models import CopyTrade, Deployment
from copytrading.reasons import Reason
from execution.venue.auth import open_api_credentials
from tests.copytrading.reliability.conftest import Checker
from tests.copytrading.reliability.harness import (
    Evidence,
    Venue,
    follow,
    fresh,
    leader_buy,
    reconcile_until_settled,
    speed_account,
)
from tests.copytrading.reliability.invariants import SecretScanner, fetch_pages, i5_no_secret_anywhere, staff_client
from tests.factories import make_leader

pytestmark = pytest.mark.django_db(transaction=True)


def corrupt(account: TradingAccount, field: str) -> None:
    """Flip one byte of a sealed secret: opening it now fails its authentication tag (flipping it
    again restores it)."""
    sealed = bytearray(getattr(TradingAccount.objects.get(id=account.id), field))
    sealed[-1] ^= 0x01
    TradingAccount.objects.filter(id=account.id).update(**{field: bytes(sealed)})


def test_s33_no_failure_of_the_signing_or_auth_path_shows_a_secret_in_logs_messages_or_pages(
    venue: Venue,
    deployment: Deployment,
    evidence: Evidence,
    worker: dramatiq.Worker,
    check: Checker,
    settings: Any,
) -> None:
    leader = make_leader()
    broken_key, broken_creds, foreign_key, revoked, healthy = (speed_account(venue, n=n) for n in range(5))
    for account in (broken_key, broken_creds, foreign_key, revoked, healthy):
        follow(account, leader=leader)
    scanner = SecretScanner.of_accounts()  # while every secret still opens
    corrupt(broken_key, "private_key_ciphertext")
    corrupt(broken_creds, "api_credentials_ciphertext")
    # The stored key no longer belongs to the account's signer address.
    TradingAccount.objects.filter(id=foreign_key.id).update(signer_address=healthy.signer_address)
    venue.sim.revoke_api_key(open_api_credentials(account=revoked).key)
    # And the venue fails too: a 500 on the first POST, and on the lookups after it.
    venue.sim.add_fault("error_before", "POST /order", count=1)
    venue.sim.add_fault("error_before", "GET /data/order/{order_id}", count=3)

    for _ in range(2):
        fanout_leader_trade(leader_trade_id=leader_buy(leader).id, deployment=deployment)
        evidence.broker.join("shared.copies", timeout=60_000)
    reconcile_until_settled(deployment, venue=venue)

    rows = {row.account_id: row for row in CopyTrade.objects.order_by("id")}
    assert (rows[broken_key.id].status, rows[broken_key.id].reason_code) == (
        CopyTrade.Status.BLOCKED,
        Reason.CUSTODY_NOT_READY,
    )
    assert fresh(rows[broken_creds.id]).status == CopyTrade.Status.BLOCKED
    assert fresh(rows[foreign_key.id]).signed_order is None
    assert TradingAccount.objects.get(id=revoked.id).paused
    assert fresh(rows[healthy.id]).status == CopyTrade.Status.CONFIRMED

    # Every page a person could open about these accounts and copies, as staff and as followers.
    pages = fetch_pages(
        staff_client(),
        [
            reverse("console"),
            reverse("admin:copytrading_copytrade_changelist"),
            *(reverse("admin:copytrading_copytrade_change", args=[row.id]) for row in rows.values()),
            *(reverse("admin:accounts_tradingaccount_change", args=[i]) for i in rows),
            reverse("admin:polyhunter_auditevent_changelist"),
            reverse("healthz"),
        ],
    )
    settings.METRICS_TOKEN = "s33-scrape-token"  # /metrics answers only an authorised scraper
    pages += fetch_pages(Client(headers={"Authorization": "Bearer s33-scrape-token"}), ["/metrics"])
    for account in TradingAccount.objects.filter(id__in=list(rows)).select_related("user"):
        follower = Client()
        follower.force_login(account.user)
        pages += fetch_pages(follower, [reverse(name) for name in ("dashboard", "history", "follows", "custody")])
    assert not i5_no_secret_anywhere(pages, scanner)
    # The checker opens every secret to look for it: seal them back as they were first.
    corrupt(broken_key, "private_key_ciphertext")
    corrupt(broken_creds, "api_credentials_ciphertext")
    check()
