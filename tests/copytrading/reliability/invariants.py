"""I1-I5 (ARCHITECTURE.md §4, reliability.md §6.2), checked at the end of every scenario.

The venue is the judge wherever it can be: what the recording proxy saw POSTed, what the
simulator holds (orders and trades) — not only what our rows say about themselves.

- I1: every order POST that reached the venue, and every order the simulator holds, belongs to
  exactly one CopyTrade (by its signed bytes / order hash); the stored bytes still hash to the
  stored order hash; and a row was POSTed no more often than its ``submit_count`` says (0 means
  never sent).
- I2: fills per CopyTrade (the venue's trades) ≤ its planned size; per follow and per account,
  today's committed notional — SIGNED/UNKNOWN/DELAYED/LIVE at planned notional, fills at their
  cost — ≤ the daily caps, every order ≤ the per-order cap; and no row that claims it never
  traded (rejected, expired, canceled…) has fills at the venue.
- I3: every non-terminal row past its deadline shows up in the admin's "stuck beyond deadline"
  filter (the filter class and the changelist page), and every non-terminal row is somebody's
  job (a due check, or a lease).
- I4: every simulator order and trade of a managed wallet maps to a CopyTrade.
- I5: no private key or session key (hex, with or without 0x, any case), API secret or passphrase in the logs
  (caplog at DEBUG), the worker processes' output, the task messages, or the admin pages of the
  rows involved.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.keyring import open_secret, open_session_secret
from accounts.models import SessionKey, TradingAccount, User
from copytrading.admin_filters import StuckFilter
from copytrading.models import CopyRelationship, CopyTrade
from execution.models import GuardrailSettings
from execution.venue.auth import open_api_credentials
from execution.venue.errors import CorruptPayload
from execution.venue.payload import SignedOrderPayload
from tests.copytrading.reliability.harness import Evidence, Venue

ZERO = Decimal(0)
TOLERANCE = Decimal("0.000001")
COMMITTED_AT_PLAN = (
    CopyTrade.Status.SIGNED,
    CopyTrade.Status.UNKNOWN,
    CopyTrade.Status.DELAYED,
    CopyTrade.Status.LIVE,
)
FILLED = (CopyTrade.Status.FILLED, CopyTrade.Status.CONFIRMED)
NEVER_TRADED = (
    CopyTrade.Status.REJECTED,
    CopyTrade.Status.CANCELED,
    CopyTrade.Status.EXPIRED,
    CopyTrade.Status.SKIPPED,
    CopyTrade.Status.BLOCKED,
    CopyTrade.Status.FAILED,
)
# How many change pages of rows the I5 scan fetches (the changelist shows all of them).
MAX_ROW_PAGES = 12


@dataclass
class Caps:
    """Caps to hold the rows to, when a scenario changes them mid-way: the largest in force."""

    follow_daily: dict[int, Decimal] = field(default_factory=dict)
    account_daily: Decimal | None = None
    max_order: Decimal | None = None


class Tracker:
    """Remembers that a test checked the invariants (a scenario that forgets fails)."""

    def __init__(self) -> None:
        self.checked = False


def check_invariants(
    venue: Venue, evidence: Evidence, tracker: Tracker, *, caps: Caps | None = None, client: Client | None = None
) -> None:
    rows = list(CopyTrade.objects.select_related("relationship", "account").order_by("id"))
    venue_orders = venue.sim.orders()
    venue_trades = venue.sim.trades()
    i1_one_order_hash_per_copy(venue, rows, venue_orders)
    i2_fills_and_caps_hold(rows, venue_trades, caps or Caps())
    i3_nothing_stuck_silently(rows, client)
    i4_every_venue_order_maps_to_a_copy(rows, venue_orders, venue_trades)
    i5_no_secret_anywhere(rows, evidence, client)
    tracker.checked = True


def _signature(signed_order: object) -> str:
    assert isinstance(signed_order, dict)
    return str(json.loads(signed_order["body"])["order"]["signature"])


def i1_one_order_hash_per_copy(venue: Venue, rows: list[CopyTrade], venue_orders: list[dict[str, object]]) -> None:
    by_signature: dict[str, CopyTrade] = {}
    by_hash: dict[str, CopyTrade] = {}
    for row in rows:
        if row.signed_order is None:
            assert row.order_hash is None, f"I1: {row.code} has an order hash but no stored bytes"
            assert row.submit_count == 0, f"I1: {row.code} counts POSTs of an order it never signed"
            continue
        try:
            payload = SignedOrderPayload.from_json(row.signed_order)
        except CorruptPayload as exc:
            raise AssertionError(f"I1: the stored order of {row.code} no longer verifies: {exc.detail}") from None
        assert payload.order_hash == row.order_hash, f"I1: {row.code} stores bytes of another hash"
        by_signature[_signature(row.signed_order)] = row
        by_hash[payload.order_hash.lower()] = row
    for signature, posts in venue.posts_by_signature().items():
        poster = by_signature.get(signature)
        assert poster is not None, "I1: an order POST reached the venue that no CopyTrade holds (re-signed or foreign)"
        assert posts <= poster.submit_count, (
            f"I1: {poster.code} was POSTed {posts} times but its submit_count says {poster.submit_count}"
        )
    for order in venue_orders:
        owner = by_hash.get(str(order["id"]).lower())
        assert owner is not None, f"I1: venue order {order['id']} belongs to no CopyTrade"


def _venue_fills(venue_trades: list[dict[str, object]]) -> dict[str, tuple[Decimal, Decimal]]:
    """order hash -> (shares, pUSD) the venue traded for it, failed settlements excluded."""
    fills: dict[str, tuple[Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO))
    for trade in venue_trades:
        if trade["status"] == "FAILED":
            continue
        size, usdc = Decimal(str(trade["size"])), Decimal(str(trade["usdc"]))
        for key in ("taker_order_id", "maker_order_id"):
            order_id = str(trade[key] or "").lower()
            if order_id:
                shares, cost = fills[order_id]
                fills[order_id] = (shares + size, cost + usdc)
    return fills


def i2_fills_and_caps_hold(rows: list[CopyTrade], venue_trades: list[dict[str, object]], caps: Caps) -> None:
    fills = _venue_fills(venue_trades)
    limits = GuardrailSettings.current()
    max_order = caps.max_order if caps.max_order is not None else Decimal(limits.max_order_usdc)
    account_cap = caps.account_daily if caps.account_daily is not None else Decimal(limits.max_daily_usdc_per_account)
    now = timezone.now()
    day_start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    per_follow: dict[int, Decimal] = defaultdict(Decimal)
    per_account: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        shares, cost = fills.get((row.order_hash or "").lower(), (ZERO, ZERO))
        if row.status in NEVER_TRADED:
            assert shares == ZERO, f"I2: {row.code} is {row.status} but the venue filled {shares} shares for it"
        if row.order_hash and shares > 0:
            if row.side == CopyTrade.Side.BUY:
                assert row.planned_usdc is not None
                assert cost <= row.planned_usdc + TOLERANCE, f"I2: {row.code} filled ${cost} > ${row.planned_usdc}"
            else:
                assert row.planned_size is not None
                assert shares <= row.planned_size, f"I2: {row.code} sold {shares} > {row.planned_size}"
        if row.planned_usdc is not None and row.side == CopyTrade.Side.BUY and row.status not in NEVER_TRADED:
            assert row.planned_usdc <= max_order, f"I2: {row.code} planned ${row.planned_usdc} > ${max_order}"
            follow_max = row.relationship.max_usdc_per_trade
            assert follow_max is None or row.planned_usdc <= follow_max, f"I2: {row.code} over the follow's maximum"
        if row.side != CopyTrade.Side.BUY or row.created_at < day_start:
            continue
        if row.status in COMMITTED_AT_PLAN:
            committed = row.planned_usdc or ZERO
        elif row.status in FILLED:
            committed = cost if row.order_hash else row.fill_usdc
        else:
            continue
        per_follow[row.relationship_id] += committed
        per_account[row.account_id] += committed
    follows = CopyRelationship.objects.in_bulk(list(per_follow))
    for follow_id, committed in per_follow.items():
        cap = caps.follow_daily.get(follow_id, follows[follow_id].daily_cap_usdc)
        assert cap is None or committed <= cap, f"I2: follow {follow_id} committed ${committed} > daily cap ${cap}"
    for account_id, committed in per_account.items():
        assert committed <= account_cap, f"I2: account {account_id} committed ${committed} > ${account_cap}"


def i3_nothing_stuck_silently(rows: list[CopyTrade], client: Client | None) -> None:
    now = timezone.now()
    request = RequestFactory().get("/admin/copytrading/copytrade/", {"stuck": "yes"})
    model_admin = admin.site._registry[CopyTrade]
    stuck_filter = StuckFilter(request, {"stuck": ["yes"]}, CopyTrade, model_admin)
    flagged = set(stuck_filter.queryset(request, CopyTrade.objects.all()).values_list("id", flat=True))
    overdue = [row for row in rows if not row.is_terminal and row.deadline_at < now]
    for row in overdue:
        assert row.id in flagged, f"I3: {row.code} is {row.status} past its deadline but not shown as stuck"
    for row in rows:
        if row.is_terminal:
            continue
        if row.status == CopyTrade.Status.CLAIMED:
            assert row.lease_until is not None, f"I3: {row.code} is claimed by nobody"
        else:
            assert row.next_check_at is not None, f"I3: {row.code} is {row.status} and nothing will look at it"
    if client is not None and overdue:
        page = client.get(reverse("admin:copytrading_copytrade_changelist"), {"stuck": "yes"}).content.decode()
        for row in overdue[:100]:
            link = reverse("admin:copytrading_copytrade_change", args=[row.id])
            assert link in page, f"I3: {row.code} is missing from the admin's stuck list"


def i4_every_venue_order_maps_to_a_copy(
    rows: list[CopyTrade], venue_orders: list[dict[str, object]], venue_trades: list[dict[str, object]]
) -> None:
    managed = set()
    for account in TradingAccount.objects.exclude(signer_address=""):
        managed |= {account.signer_address.lower(), (account.funder_address or account.signer_address).lower()}
    hashes = {row.order_hash.lower() for row in rows if row.order_hash}
    for order in venue_orders:
        wallets = {str(order.get("maker_address", "")).lower(), str(order.get("signer", "")).lower()}
        if wallets & managed:
            assert str(order["id"]).lower() in hashes, f"I4: venue order {order['id']} of a managed wallet is unknown"
    for trade in venue_trades:
        if str(trade["taker_address"]).lower() in managed:
            assert str(trade["taker_order_id"]).lower() in hashes, f"I4: trade {trade['id']} maps to no CopyTrade"
        if str(trade["maker_address"]).lower() in managed:
            assert str(trade["maker_order_id"]).lower() in hashes, f"I4: trade {trade['id']} maps to no CopyTrade"


def _session_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Session signers' keys and their API secrets and passphrases (retired keys are erased)."""
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for key in SessionKey.objects.exclude(key_ciphertext=None).select_related("account"):
        bare = open_session_secret(session_key=key, field="key_ciphertext").decode().lower().removeprefix("0x")
        patterns.append((f"session key of {key.account.code}", re.compile(re.escape(bare), re.IGNORECASE)))
        creds = json.loads(open_session_secret(session_key=key, field="api_credentials_ciphertext"))
        patterns.append((f"API secret of {key.account.code}", re.compile(re.escape(creds["secret"]), re.IGNORECASE)))
        patterns.append(
            (f"passphrase of {key.account.code}", re.compile(re.escape(creds["passphrase"]), re.IGNORECASE))
        )
    return patterns


def _secret_patterns() -> list[tuple[str, re.Pattern[str]]]:
    patterns: list[tuple[str, re.Pattern[str]]] = _session_patterns()
    for account in TradingAccount.objects.filter(mode=TradingAccount.Mode.SPEED):
        if account.private_key_ciphertext:
            key = open_secret(account=account, field="private_key_ciphertext").decode()
            bare = key.lower().removeprefix("0x")
            # Covers with and without 0x, and any case.
            patterns.append((f"private key of {account.code}", re.compile(re.escape(bare), re.IGNORECASE)))
        if account.api_credentials_ciphertext:
            creds = open_api_credentials(account=account)
            patterns.append((f"API secret of {account.code}", re.compile(re.escape(creds.secret), re.IGNORECASE)))
            patterns.append((f"passphrase of {account.code}", re.compile(re.escape(creds.passphrase), re.IGNORECASE)))
    return patterns


def _admin_pages(rows: list[CopyTrade], client: Client) -> list[tuple[str, str]]:
    pages = [
        reverse("admin:copytrading_copytrade_changelist"),
        reverse("admin:copytrading_copytrade_changelist") + "?stuck=yes",
        reverse("admin:polyhunter_auditevent_changelist"),
        reverse("admin:accounts_tradingaccount_changelist"),
    ]
    involved = [row for row in rows if row.order_hash] + [row for row in rows if not row.order_hash]
    for row in involved[:MAX_ROW_PAGES]:
        pages.append(reverse("admin:copytrading_copytrade_change", args=[row.id]))
        if row.order_hash:
            pages.append(reverse("admin:copytrade_venue_order", args=[row.id]))
    for account_id in sorted({row.account_id for row in rows})[:MAX_ROW_PAGES]:
        pages.append(reverse("admin:accounts_tradingaccount_change", args=[account_id]))
    fetched = []
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        fetched.append((f"GET {url}", response.content.decode()))
    return fetched


def staff_client() -> Client:
    user = User.objects.filter(username="reliability-staff").first() or User.objects.create_superuser(
        username="reliability-staff", password="unused-password-0", email=""
    )
    client = Client()
    client.force_login(user)
    return client


def i5_no_secret_anywhere(rows: list[CopyTrade], evidence: Evidence, client: Client | None) -> None:
    patterns = _secret_patterns()
    haystacks: list[tuple[str, str]] = [("logs", evidence.log_text())]
    haystacks += evidence.outputs
    haystacks += [("task message", body) for body in evidence.message_bodies()]
    haystacks += _admin_pages(rows, client or staff_client())
    for label, pattern in patterns:
        for source, text in haystacks:
            assert not pattern.search(text), f"I5: the {label} appears in {source}"
