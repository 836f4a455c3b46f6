"""The leader directory: every watched wallet's track record, proposals, and on each leader's
page what copying it would have made with the settings chosen, and a button to follow it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import TradingAccount
from copytrading.follows import FollowSettings
from copytrading.forms import BacktestForm, FollowCreateForm, FollowSettingsForm, ProposeLeaderForm
from copytrading.leaders.services import (
    REFRESH_EVERY,
    ProposalError,
    leader_backtest,
    leader_directory,
    leader_propose,
    leader_recent_trades,
)
from copytrading.leaders.stats import TrackRecord
from copytrading.markets import market_names
from copytrading.models import CopyRelationship, LeaderProfile, WatchedWallet
from copytrading.views.common import current_user
from execution.models import GuardrailSettings
from polyhunter.lib.charts import line_chart


def default_settings() -> FollowSettings:
    """What a new follow starts with: the platform's default daily cap per follow (staff-set)."""
    return FollowSettings(daily_cap_usdc=GuardrailSettings.current().default_follow_daily_cap_usdc)


@login_required
def leaders(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    rows = leader_directory(user=user)
    context = {
        "rows": rows,
        "form": ProposeLeaderForm(),
        "has_account": TradingAccount.objects.filter(user=user).exists(),
    }
    return render(request, "copytrading/leaders.html", context)


@login_required
@require_POST
def leader_propose_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = ProposeLeaderForm(request.POST)
    if form.is_valid():
        try:
            leader = leader_propose(address=form.cleaned_data["address"], user=user, label=form.cleaned_data["label"])
        except ProposalError as exc:
            form.add_error("address", str(exc))
        else:
            messages.success(request, "Added to the directory. Its track record loads in the background.")
            return redirect("leader_detail", code=leader.code)
    rows = leader_directory(user=user)
    has_account = TradingAccount.objects.filter(user=user).exists()
    return render(request, "copytrading/leaders.html", {"rows": rows, "form": form, "has_account": has_account})


@login_required
def leader_detail(request: HttpRequest, code: str) -> HttpResponse:
    user = current_user(request)
    leader = get_object_or_404(WatchedWallet.objects.select_related("profile"), code=code)
    profile: LeaderProfile | None = getattr(leader, "profile", None)
    _refresh_if_stale(leader, profile)
    initial = FollowSettingsForm.initial_for(default_settings()) | {"days": 30}
    form = BacktestForm(request.GET or None, initial=initial)
    settings, days = default_settings(), 30
    if form.is_bound and form.is_valid():
        settings, days = form.follow_settings(), int(form.cleaned_data["days"])
    result = leader_backtest(profile=profile, settings=settings, days=days) if not form.errors else None
    recent = leader_recent_trades(profile)
    tokens = {t.token_id for t in recent} | ({d.trade.token_id for d in result.decisions} if result else set())
    names = market_names(tokens)
    following = (
        CopyRelationship.objects.filter(account__user=user, leader=leader)
        .exclude(status=CopyRelationship.Status.STOPPED)
        .first()
    )
    follow_form = FollowCreateForm(
        user=user, initial=FollowSettingsForm.initial_for(settings) | {"leader_address": leader.address}
    )
    context: dict[str, Any] = {
        "leader": leader,
        "profile": profile,
        "record": TrackRecord.from_json(profile.stats) if profile is not None else None,
        "recent": [(t, names.get(t.token_id)) for t in recent],
        "form": form,
        "result": result,
        "decisions": [(d, names.get(d.trade.token_id)) for d in reversed(result.decisions)][:50] if result else [],
        "days": days,
        "follow_form": follow_form,
        "following": following,
        "followers": CopyRelationship.objects.filter(leader=leader, status=CopyRelationship.Status.ACTIVE).count(),
        "has_account": TradingAccount.objects.filter(user=user).exists(),
        "chart": line_chart([(p.at, p.pnl) for p in result.points]) if result else None,
    }
    return render(request, "copytrading/leader_detail.html", context)


def _refresh_if_stale(leader: WatchedWallet, profile: LeaderProfile | None) -> None:
    """A page view asks for a fresh track record at most once a minute per leader."""
    from copytrading.leaders.actors import refresh_leader_profile

    fresh = profile is not None and profile.refreshed_at is not None
    if fresh and profile is not None and profile.refreshed_at and timezone.now() - profile.refreshed_at < REFRESH_EVERY:
        return
    if cache.add(f"leader-profile:asked:{leader.id}", 1, 60):
        refresh_leader_profile.send(leader.id)
