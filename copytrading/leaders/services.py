"""The leader directory's services: propose a wallet, refresh a track record, list the leaders.

Track records are computed by ``leader_profile_refresh`` in a background actor (Data API
``/activity``, ``/positions`` and ``/trades``, under a shared request budget); pages only read
the stored result, so a slow or failing Data API never slows a page down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from copytrading.detection.budget import RequestBudget
from copytrading.detection.data_api import DataApiClient, DataApiError
from copytrading.follows import FollowSettings
from copytrading.leaders.backtest import BacktestResult, backtest_run, market_facts
from copytrading.leaders.stats import LOOKBACK_DAYS, HistoricTrade, TrackRecord, historic_trades, track_record
from copytrading.markets import market_labels_remember, market_names
from copytrading.models import CopyRelationship, LeaderProfile, WatchedWallet
from execution.models import GuardrailSettings
from polyhunter.audit import audit_record
from polyhunter.broker import send_to_queue
from polyhunter.lib.addresses import InvalidAddress, normalize_address

log = logging.getLogger(__name__)

PAGE = 500
MAX_PAGES = 3  # the Data API caps offset at 1,000: at most 1,500 rows of activity per refresh
KEEP_TRADES_DAYS = 30
MAX_KEPT_TRADES = 1000
REFRESH_EVERY = timedelta(minutes=5)
PROPOSALS_PER_DAY = 10


class ProposalError(Exception):
    pass


def profiles_budget() -> RequestBudget:
    # Separate from detection's /trades budget: a directory refresh never delays a detection poll.
    return RequestBudget(key="polyhunter:data-api:profiles", name="data_api_profiles", limit=60, window_seconds=10)


def leader_propose(*, address: str, user: User, label: str = "") -> WatchedWallet:
    """Add a wallet to the directory (anyone may); its track record loads in the background."""
    try:
        normalized = normalize_address(address)
    except InvalidAddress as exc:
        raise ProposalError(str(exc)) from None
    existing = WatchedWallet.objects.filter(address=normalized).first()
    if existing is not None:
        LeaderProfile.objects.get_or_create(leader=existing)
        return existing
    since = timezone.now() - timedelta(days=1)
    if LeaderProfile.objects.filter(proposed_by=user, created_at__gte=since).count() >= PROPOSALS_PER_DAY:
        raise ProposalError(f"You can propose at most {PROPOSALS_PER_DAY} wallets a day.")
    with transaction.atomic():
        leader, _ = WatchedWallet.objects.get_or_create(address=normalized, defaults={"label": label.strip()[:80]})
        _profile, created = LeaderProfile.objects.get_or_create(leader=leader, defaults={"proposed_by": user})
        audit_record(actor=user, action="leader.propose", target=leader, after={"address": normalized})
        if created:
            transaction.on_commit(lambda: _enqueue_refresh([leader.id]))
    return leader


# Sent by name: copytrading.leaders.actors declares the actor and imports this module.
REFRESH_LEADER_PROFILE_ACTOR = "refresh_leader_profile"


def _enqueue_refresh(leader_ids: list[int]) -> None:
    for leader_id in leader_ids:
        send_to_queue(REFRESH_LEADER_PROFILE_ACTOR, "platform", leader_id)


def leader_profile_refresh(
    *, leader_id: int, client: DataApiClient | None = None, now: datetime | None = None
) -> LeaderProfile:
    """Fetch the leader's recent activity, open positions and latest trades; store its track record."""
    now = now or timezone.now()
    leader = WatchedWallet.objects.get(id=leader_id)
    profile, _ = LeaderProfile.objects.get_or_create(leader=leader)
    owned = client is None
    client = client or DataApiClient(budget=profiles_budget())
    try:
        activity, complete = _activity(client, leader.address, since=now - timedelta(days=LOOKBACK_DAYS))
        positions = _list(client.get_json("/positions", params={"user": leader.address, "limit": "500"}))
        latest = _list(client.get_json("/trades", params={"user": leader.address, "takerOnly": "false", "limit": "20"}))
    except DataApiError as exc:
        LeaderProfile.objects.filter(id=profile.id).update(
            state=LeaderProfile.State.FAILED if profile.state != LeaderProfile.State.READY else profile.state,
            refresh_error=str(exc)[:300],
            refreshed_at=now,
        )
        log.info("leader %s: track record not refreshed: %s", leader.address, exc)
        profile.refresh_from_db()
        return profile
    finally:
        if owned:
            client.close()
    trades = historic_trades([*activity, *latest])
    record = track_record(trades=trades, positions=positions, now=now, complete=complete)
    kept = [t for t in trades if t.at >= now - timedelta(days=KEEP_TRADES_DAYS)][-MAX_KEPT_TRADES:]
    market_labels_remember(rows=[*positions, *activity[:200], *latest])
    LeaderProfile.objects.filter(id=profile.id).update(
        state=LeaderProfile.State.READY,
        stats=record.to_json(),
        trades=[t.to_json() for t in reversed(kept)],
        refreshed_at=now,
        refresh_error="",
    )
    profile.refresh_from_db()
    return profile


def _activity(client: DataApiClient, address: str, *, since: datetime) -> tuple[list[dict[str, Any]], bool]:
    """TRADE activity since ``since``, newest first; False when the offset cap cut it short."""
    rows: list[dict[str, Any]] = []
    for page in range(MAX_PAGES):
        params = {
            "user": address,
            "type": "TRADE",
            "start": str(int(since.timestamp())),
            "sortBy": "TIMESTAMP",
            "sortDirection": "DESC",
            "limit": str(PAGE),
            "offset": str(page * PAGE),
        }
        chunk = _list(client.get_json("/activity", params=params))
        rows.extend(chunk)
        if len(chunk) < PAGE:
            return rows, True
    return rows, False


def _list(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise DataApiError(f"the Data API answered a {type(body).__name__}, not a list")
    return [row for row in body if isinstance(row, dict)]


def profiles_due(*, now: datetime | None = None, limit: int = 20) -> list[int]:
    """Leaders whose track record is missing or older than the refresh interval, oldest first."""
    now = now or timezone.now()
    stale = Q(profile__isnull=True) | Q(profile__refreshed_at__isnull=True)
    stale |= Q(profile__refreshed_at__lt=now - REFRESH_EVERY)
    return list(
        WatchedWallet.objects.filter(stale).order_by("profile__refreshed_at", "id").values_list("id", flat=True)[:limit]
    )


@dataclass(frozen=True)
class DirectoryRow:
    leader: WatchedWallet
    profile: LeaderProfile | None
    record: TrackRecord | None
    followers: int
    followed_by_me: bool

    @property
    def loading(self) -> bool:
        return self.profile is None or self.profile.state == LeaderProfile.State.LOADING


def leader_directory(*, user: User | None) -> list[DirectoryRow]:
    """Every watched wallet with its track record and how many follow it here (not stopped)."""
    active = Q(followers__status=CopyRelationship.Status.ACTIVE)
    leaders = (
        WatchedWallet.objects.select_related("profile")
        .annotate(following=Count("followers", filter=active))
        .order_by("-following", "label", "address")
    )
    mine: set[int] = set()
    if user is not None and user.is_authenticated:
        mine = set(
            CopyRelationship.objects.filter(account__user=user)
            .exclude(status=CopyRelationship.Status.STOPPED)
            .values_list("leader_id", flat=True)
        )
    rows = []
    for leader in leaders:
        profile = getattr(leader, "profile", None)
        record = TrackRecord.from_json(profile.stats) if profile is not None else None
        rows.append(DirectoryRow(leader, profile, record, int(getattr(leader, "following", 0)), leader.id in mine))
    return rows


def leader_recent_trades(profile: LeaderProfile | None, *, limit: int = 15) -> list[HistoricTrade]:
    if profile is None:
        return []
    return [HistoricTrade.from_json(t) for t in profile.trades[:limit]]


def leader_backtest(
    *, profile: LeaderProfile | None, settings: FollowSettings, days: int, now: datetime | None = None
) -> BacktestResult | None:
    """What these settings would have made on the leader's recorded trades of the last ``days``
    days (None before its track record has loaded)."""
    if profile is None or profile.state != LeaderProfile.State.READY:
        return None
    now = now or timezone.now()
    since = now - timedelta(days=days)
    trades = [t for t in (HistoricTrade.from_json(row) for row in reversed(profile.trades)) if t.at >= since]
    facts = market_facts(trades, market_names({t.token_id for t in trades}))
    return backtest_run(trades=trades, settings=settings, limits=GuardrailSettings.current(), facts=facts, now=now)


def leader_profiles_refresh_soon() -> int:
    """Ask the workers to (re)load every track record now (the demo's start); returns how many."""
    ids = list(WatchedWallet.objects.values_list("id", flat=True))
    _enqueue_refresh(ids)
    return len(ids)
