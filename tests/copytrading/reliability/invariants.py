"""I1-I5 (docs/architecture.md §4), checked at the end of every scenario — and by ``make soak``
(soak/checks.py), which counts the same findings over a whole chaos run instead of stopping at the
first.

The venue is the judge wherever it can be: what the recording proxy saw POSTed, what the
simulator holds (orders and trades) — not only what our rows say about themselves.

- I1: every order POST that reached the venue, and every order the simulator holds, belongs to
  exactly one CopyTrade (by its signed bytes / order hash); the stored bytes still hash to the
  stored order hash; and a row was POSTed no more often than its ``submit_count`` says (0 means
  never sent).
- I2: fills per CopyTrade (the venue's trades) ≤ its planned size; per follow and per account,
  today's committed notional — SIGNED/UNKNOWN/DELAYED/LIVE at planned notional plus planned
  (worst-case) fee, fills at their cost *plus the taker fee the venue charged* — ≤ the daily
  caps, and per follow and market ≤ its per-market cap; every order ≤ the per-order cap; and no
  row that claims it never traded (rejected, expired, canceled…) has fills at the venue.
- I3: every non-terminal row past its deadline shows up in the admin's "stuck beyond deadline"
  filter (the filter class and the changelist page), and every non-terminal row is somebody's
  job (a due check, or a lease).
- I4: every simulator order and trade of a managed wallet maps to a CopyTrade.
- I6 (fleet mode): every fleet fill ended SETTLED (the chain's settlement contract records its
  copy id) or DEBT (exactly one DebtRecord), and the open debts add up to exactly what the chain
  says is still unreimbursed (fill + fee of every fleet fill whose copy id it has not recorded).
- I5: no private key or session key (hex, with or without 0x, any case), API secret or
  passphrase, and none of the deployment's own secrets (SECRET_KEY, ENCRYPTION_KEYS), in the logs
  (caplog at DEBUG, and the production handler's output with its tracebacks), the worker
  processes' output, the task messages, the stored error fields (detector errors, copy-trade
  details, venue health, audit events), ``check_config``'s output, or the admin pages of the rows
  involved.
"""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.keyring import open_secret, open_session_secret
from accounts.models import SessionKey, TradingAccount, User
from copytrading.admin_filters import StuckFilter
from copytrading.models import CopyRelationship, CopyTrade
from execution.fleet.chain import fleet_chain
from execution.fleet.onchain import is_settled
from execution.models import DebtRecord, GuardrailSettings
from execution.venue.auth import open_api_credentials
from execution.venue.errors import CorruptPayload
from execution.venue.payload import SignedOrderPayload
from tests.copytrading.reliability.harness import Evidence, Venue
from tests.outputs import check_config_output, stored_error_texts

ZERO = Decimal(0)
TOLERANCE = Decimal("0.000001")
COMMITTED_AT_PLAN = (
    CopyTrade.Status.SIGNED,
    CopyTrade.Status.UNKNOWN,
    CopyTrade.Status.DELAYED,
    CopyTrade.Status.LIVE,
)
FILLED = (
    CopyTrade.Status.FILLED,
    CopyTrade.Status.CONFIRMED,
    CopyTrade.Status.SETTLEMENT_PENDING,
    CopyTrade.Status.SETTLED,
    CopyTrade.Status.DEBT,
)
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


@dataclass(frozen=True)
class Finding:
    """One violation: which invariant, what kind (a stable key the soak counts by), and the words."""

    invariant: str
    kind: str
    message: str


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
    findings = [
        *i1_one_order_hash_per_copy(rows, venue_orders, venue.posts_by_signature()),
        *i2_fills_and_caps_hold(rows, venue_trades, caps or Caps()),
        *i3_nothing_stuck_silently(rows, client),
        *i4_every_venue_order_maps_to_a_copy(rows, venue_orders, venue_trades),
        *i5_no_secret_anywhere(scan_haystacks(rows, evidence, client), SecretScanner.of_accounts()),
        *i6_fleet_fills_settled_or_owed(rows),
    ]
    assert not findings, "\n".join(finding.message for finding in findings[:20])
    tracker.checked = True


def i6_fleet_fills_settled_or_owed(rows: list[CopyTrade]) -> list[Finding]:
    """I6, judged by the chain's settlement contract (its per-copy record), not by our rows alone.

    A BUY's record is its reimbursement; a SELL's is its pull (the shares taken before selling),
    so a SELL owes nothing and is never a debt: only BUY fills count towards the unreimbursed."""
    fleet_fills = [row for row in rows if row.operator_wallet_id is not None and row.size_matched > 0]
    if not fleet_fills:
        return []
    chain = fleet_chain()
    found: list[Finding] = []
    debts = {debt.copy_trade_id: debt for debt in DebtRecord.objects.all()}
    unreimbursed = ZERO
    for row in fleet_fills:
        settled_on_chain = is_settled(w3=chain.w3, settlement=chain.settlement, copy_id=row.id)
        if not settled_on_chain and row.side == CopyTrade.Side.BUY:
            unreimbursed += row.fill_usdc + row.fee_usdc
        if row.status == CopyTrade.Status.SETTLED and not settled_on_chain:
            found.append(Finding("I6", "settled_not_on_chain", f"I6: copy {row.code} is SETTLED, the chain disagrees"))
        elif row.status == CopyTrade.Status.DEBT and row.side == CopyTrade.Side.SELL:
            found.append(Finding("I6", "sell_debt", f"I6: fleet sell {row.code} is DEBT (a sale owes nothing)"))
        elif row.status == CopyTrade.Status.DEBT and row.id not in debts:
            found.append(Finding("I6", "debt_without_record", f"I6: copy {row.code} is DEBT without a DebtRecord"))
        elif row.status not in (CopyTrade.Status.SETTLED, CopyTrade.Status.DEBT):
            found.append(Finding("I6", "unsettled", f"I6: fleet fill {row.code} ended {row.status}"))
    owed = sum((d.amount_usdc for d in debts.values() if d.state == DebtRecord.State.OPEN), ZERO)
    if owed != unreimbursed:
        found.append(Finding("I6", "debt_sum", f"I6: open debts {owed} pUSD, chain unreimbursed {unreimbursed} pUSD"))
    return found


def _signature(signed_order: object) -> str:
    assert isinstance(signed_order, dict)
    return str(json.loads(signed_order["body"])["order"]["signature"])


def i1_one_order_hash_per_copy(
    rows: list[CopyTrade], venue_orders: list[dict[str, object]], posts_by_signature: dict[str, int]
) -> list[Finding]:
    """``posts_by_signature``: how many order POSTs carrying each signature reached the venue."""
    found: list[Finding] = []
    by_signature: dict[str, CopyTrade] = {}
    by_hash: dict[str, CopyTrade] = {}
    for row in rows:
        if row.signed_order is None:
            if row.order_hash is not None:
                found.append(
                    Finding("I1", "hash_without_bytes", f"I1: {row.code} has an order hash but no stored bytes")
                )
            if row.submit_count != 0:
                found.append(
                    Finding("I1", "counted_unsigned", f"I1: {row.code} counts POSTs of an order it never signed")
                )
            continue
        try:
            payload = SignedOrderPayload.from_json(row.signed_order)
        except CorruptPayload as exc:
            found.append(
                Finding("I1", "bytes_corrupt", f"I1: the stored order of {row.code} no longer verifies: {exc.detail}")
            )
            continue
        if payload.order_hash != row.order_hash:
            found.append(Finding("I1", "bytes_of_another_hash", f"I1: {row.code} stores bytes of another hash"))
        by_signature[_signature(row.signed_order)] = row
        by_hash[payload.order_hash.lower()] = row
    for signature, posts in posts_by_signature.items():
        poster = by_signature.get(signature)
        if poster is None:
            found.append(
                Finding(
                    "I1",
                    "foreign_post",
                    "I1: an order POST reached the venue that no CopyTrade holds (re-signed or foreign)",
                )
            )
        elif posts > poster.submit_count:
            found.append(
                Finding(
                    "I1",
                    "posted_more_than_counted",
                    f"I1: {poster.code} was POSTed {posts} times but its submit_count says {poster.submit_count}",
                )
            )
    for order in venue_orders:
        if by_hash.get(str(order["id"]).lower()) is None:
            found.append(Finding("I1", "unmapped_order", f"I1: venue order {order['id']} belongs to no CopyTrade"))
    return found


def venue_fills(venue_trades: list[dict[str, object]]) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """order hash -> (shares, pUSD, taker fee) the venue traded for it, failed settlements excluded.

    The taker pays the fee (a BUY on top of its pUSD, a SELL out of its proceeds): it is the
    taker order's, never the maker's.
    """
    fills: dict[str, tuple[Decimal, Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO, ZERO))
    for trade in venue_trades:
        if trade["status"] == "FAILED":
            continue
        size, usdc = Decimal(str(trade["size"])), Decimal(str(trade["usdc"]))
        fee = Decimal(str(trade.get("fee") or 0))
        for key in ("taker_order_id", "maker_order_id"):
            order_id = str(trade[key] or "").lower()
            if order_id:
                shares, cost, fees = fills[order_id]
                fills[order_id] = (shares + size, cost + usdc, fees + (fee if key == "taker_order_id" else ZERO))
    return fills


def i2_fills_and_caps_hold(rows: list[CopyTrade], venue_trades: list[dict[str, object]], caps: Caps) -> list[Finding]:
    found: list[Finding] = []
    fills = venue_fills(venue_trades)
    limits = GuardrailSettings.current()
    max_order = caps.max_order if caps.max_order is not None else Decimal(limits.max_order_usdc)
    account_cap = caps.account_daily if caps.account_daily is not None else Decimal(limits.max_daily_usdc_per_account)
    now = timezone.now()
    day_start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    per_follow: dict[int, Decimal] = defaultdict(Decimal)
    per_account: dict[int, Decimal] = defaultdict(Decimal)
    per_market: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    sold: set[tuple[int, str]] = set()
    for row in rows:
        shares, cost, fee = fills.get((row.order_hash or "").lower(), (ZERO, ZERO, ZERO))
        if row.status in NEVER_TRADED and shares != ZERO:
            found.append(
                Finding(
                    "I2",
                    "fills_on_never_traded",
                    f"I2: {row.code} is {row.status} but the venue filled {shares} shares",
                )
            )
        if row.order_hash and shares > 0:
            if row.side == CopyTrade.Side.BUY:
                assert row.planned_usdc is not None
                if cost > row.planned_usdc + TOLERANCE:
                    found.append(Finding("I2", "overfilled", f"I2: {row.code} filled ${cost} > ${row.planned_usdc}"))
            else:
                assert row.planned_size is not None
                if shares > row.planned_size:
                    found.append(Finding("I2", "overfilled", f"I2: {row.code} sold {shares} > {row.planned_size}"))
        if row.planned_usdc is not None and row.side == CopyTrade.Side.BUY and row.status not in NEVER_TRADED:
            if row.planned_usdc > max_order:
                found.append(Finding("I2", "order_cap", f"I2: {row.code} planned ${row.planned_usdc} > ${max_order}"))
            follow_max = row.relationship.max_usdc_per_trade
            if follow_max is not None and row.planned_usdc > follow_max:
                found.append(Finding("I2", "order_cap", f"I2: {row.code} over the follow's maximum"))
        if row.side != CopyTrade.Side.BUY:
            sold.add((row.relationship_id, row.token_id))
            continue
        if row.status in COMMITTED_AT_PLAN:
            # What it may still cost: its notional and the most taker fee it can pay.
            committed = (row.planned_usdc or ZERO) + (row.planned_fee_usdc or ZERO)
        elif row.status in FILLED:
            committed = cost + fee if row.order_hash else row.fill_usdc + row.fee_usdc
        else:
            continue
        per_market[(row.relationship_id, row.token_id)] += committed
        if row.created_at >= day_start:
            per_follow[row.relationship_id] += committed
            per_account[row.account_id] += committed
    follows = CopyRelationship.objects.in_bulk({*per_follow, *(follow_id for follow_id, _ in per_market)})
    for follow_id, committed in per_follow.items():
        cap = caps.follow_daily.get(follow_id, follows[follow_id].daily_cap_usdc)
        if cap is not None and committed > cap:
            found.append(
                Finding("I2", "daily_cap", f"I2: follow {follow_id} committed ${committed} > daily cap ${cap}")
            )
    for account_id, committed in per_account.items():
        if committed > account_cap:
            found.append(
                Finding("I2", "account_cap", f"I2: account {account_id} committed ${committed} > ${account_cap}")
            )
    for (follow_id, token_id), committed in per_market.items():
        # A sale gives part of the position back; the per-market sum is only a bound without one.
        market_cap = follows[follow_id].max_position_usdc_per_market
        if market_cap is not None and (follow_id, token_id) not in sold and committed > market_cap:
            found.append(
                Finding(
                    "I2",
                    "market_cap",
                    f"I2: follow {follow_id} holds ${committed} of token …{token_id[-6:]} > market cap ${market_cap}",
                )
            )
    return found


def i3_nothing_stuck_silently(rows: list[CopyTrade], client: Client | None) -> list[Finding]:
    found: list[Finding] = []
    now = timezone.now()
    request = RequestFactory().get("/admin/copytrading/copytrade/", {"stuck": "yes"})
    model_admin = admin.site._registry[CopyTrade]
    stuck_filter = StuckFilter(request, {"stuck": ["yes"]}, CopyTrade, model_admin)
    overdue = [row for row in rows if not row.is_terminal and row.deadline_at < now]
    flagged = set(
        stuck_filter.queryset(request, CopyTrade.objects.filter(id__in=[row.id for row in overdue])).values_list(
            "id", flat=True
        )
    )
    for row in overdue:
        if row.id not in flagged:
            found.append(
                Finding(
                    "I3", "stuck_unflagged", f"I3: {row.code} is {row.status} past its deadline but not shown as stuck"
                )
            )
    for row in rows:
        if row.is_terminal:
            continue
        if row.status == CopyTrade.Status.CLAIMED:
            if row.lease_until is None:
                found.append(Finding("I3", "nobody_job", f"I3: {row.code} is claimed by nobody"))
        elif row.next_check_at is None:
            found.append(Finding("I3", "nobody_job", f"I3: {row.code} is {row.status} and nothing will look at it"))
    if client is not None and overdue:
        page = client.get(reverse("admin:copytrading_copytrade_changelist"), {"stuck": "yes"}).content.decode()
        for row in overdue[:100]:
            link = reverse("admin:copytrading_copytrade_change", args=[row.id])
            if link not in page:
                found.append(Finding("I3", "stuck_unlisted", f"I3: {row.code} is missing from the admin's stuck list"))
    return found


def managed_wallets() -> set[str]:
    managed = set()
    for account in TradingAccount.objects.exclude(signer_address=""):
        managed |= {account.signer_address.lower(), (account.funder_address or account.signer_address).lower()}
    return managed


def i4_every_venue_order_maps_to_a_copy(
    rows: list[CopyTrade], venue_orders: list[dict[str, object]], venue_trades: list[dict[str, object]]
) -> list[Finding]:
    found: list[Finding] = []
    managed = managed_wallets()
    hashes = {row.order_hash.lower() for row in rows if row.order_hash}
    for order in venue_orders:
        wallets = {str(order.get("maker_address", "")).lower(), str(order.get("signer", "")).lower()}
        if wallets & managed and str(order["id"]).lower() not in hashes:
            found.append(
                Finding("I4", "unknown_order", f"I4: venue order {order['id']} of a managed wallet is unknown")
            )
    for trade in venue_trades:
        for side in ("taker", "maker"):
            if (
                str(trade[f"{side}_address"]).lower() in managed
                and str(trade[f"{side}_order_id"]).lower() not in hashes
            ):
                found.append(Finding("I4", "unknown_trade", f"I4: trade {trade['id']} maps to no CopyTrade"))
    return found


def _session_secrets() -> list[tuple[str, str]]:
    """Session signers' keys and their API secrets and passphrases (retired keys are erased)."""
    secrets: list[tuple[str, str]] = []
    for key in SessionKey.objects.exclude(key_ciphertext=None).select_related("account"):
        bare = open_session_secret(session_key=key, field="key_ciphertext").decode().lower().removeprefix("0x")
        secrets.append((f"session key of {key.account.code}", bare))
        creds = json.loads(open_session_secret(session_key=key, field="api_credentials_ciphertext"))
        secrets.append((f"API secret of {key.account.code}", creds["secret"]))
        secrets.append((f"passphrase of {key.account.code}", creds["passphrase"]))
    return secrets


class SecretScanner:
    """Finds known secrets in text: every private key (hex, with or without 0x, any case), API
    secret and passphrase of the speed accounts, anywhere inside any run of token characters.

    Fast enough for a soak's logs (tens of MB, hundreds of accounts): the text is cut into runs of
    the characters secrets are made of, and each distinct run is looked up window by window in a
    set, instead of one regex per secret over the whole text.
    """

    _RUN = re.compile(r"[0-9a-z+/=_\-]+")

    def __init__(self, secrets: Iterable[tuple[str, str]]) -> None:
        self.labels: dict[str, str] = {}
        # A secret with a character outside the runs is looked for the slow way, as a substring.
        self.odd: dict[str, str] = {}
        for label, secret in secrets:
            if secret and self._RUN.fullmatch(secret.lower()):
                self.labels[secret.lower()] = label
            elif secret:
                self.odd[secret.lower()] = label
        self.lengths = sorted({len(secret) for secret in self.labels})

    @classmethod
    def of_accounts(cls) -> SecretScanner:
        """Every secret the platform holds: speed accounts' keys and API credentials, session
        signers' keys and credentials (retired keys are erased), SECRET_KEY and the keyring."""
        secrets: list[tuple[str, str]] = _session_secrets()
        secrets.append(("SECRET_KEY", settings.SECRET_KEY))
        for key_id, material in settings.ENCRYPTION_KEYS:
            secrets.append((f"encryption key {key_id}", base64.b64encode(material).decode()))
            secrets.append((f"encryption key {key_id} (hex)", material.hex()))
        for account in TradingAccount.objects.filter(mode=TradingAccount.Mode.SPEED):
            if account.private_key_ciphertext:
                key = open_secret(account=account, field="private_key_ciphertext").decode()
                secrets.append((f"private key of {account.code}", key.lower().removeprefix("0x")))
            if account.api_credentials_ciphertext:
                creds = open_api_credentials(account=account)
                secrets.append((f"API secret of {account.code}", creds.secret))
                secrets.append((f"passphrase of {account.code}", creds.passphrase))
        return cls(secrets)

    def find(self, text: str) -> list[str]:
        """Labels of the secrets that appear in ``text`` (each once)."""
        lowered = text.lower()
        hits = [label for secret, label in self.odd.items() if secret in lowered]
        if not self.lengths:
            return hits
        shortest = self.lengths[0]
        for run in set(self._RUN.findall(lowered)):
            if len(run) < shortest:
                continue
            for length in self.lengths:
                for start in range(len(run) - length + 1):
                    label = self.labels.get(run[start : start + length])
                    if label is not None and label not in hits:
                        hits.append(label)
        return hits


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
    return fetch_pages(client, pages)


def fetch_pages(client: Client, urls: list[str]) -> list[tuple[str, str]]:
    fetched = []
    for url in urls:
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


def scan_haystacks(rows: list[CopyTrade], evidence: Evidence, client: Client | None) -> list[tuple[str, str]]:
    """What the I5 scan of a scenario reads: logs, process output, task messages, admin pages."""
    haystacks: list[tuple[str, str]] = [("logs", evidence.log_text())]
    haystacks.append(("the production log handler's output", evidence.handler_text()))
    haystacks += stored_error_texts()
    haystacks.append(("check_config", check_config_output()))
    haystacks += evidence.outputs
    haystacks += [("task message", body) for body in evidence.message_bodies()]
    haystacks += _admin_pages(rows, client or staff_client())
    return haystacks


def i5_no_secret_anywhere(haystacks: Iterable[tuple[str, str]], scanner: SecretScanner) -> list[Finding]:
    found: list[Finding] = []
    for source, text in haystacks:
        for label in scanner.find(text):
            found.append(Finding("I5", "secret", f"I5: the {label} appears in {source}"))
    return found
