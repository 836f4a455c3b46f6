from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import TradingAccount
from copytrading.controls import relationship_set_status
from copytrading.follows import FollowError, FollowSettings, follow_create, follow_update
from copytrading.forms import FollowCreateForm, FollowSettingsForm, FollowStatusForm
from copytrading.leaders.risk import Risk, follow_risk
from copytrading.models import CopyRelationship, WatchedWallet
from copytrading.summaries import follow_rows, follow_state
from copytrading.views.common import current_user as _user
from copytrading.views.common import is_htmx
from copytrading.views.leaders import default_settings
from execution.switches import switch_states


def _own_follow(request: HttpRequest, code: str) -> CopyRelationship:
    return get_object_or_404(
        CopyRelationship.objects.select_related("account", "leader"), code=code, account__user=_user(request)
    )


def _show_problems(form: FollowSettingsForm, error: FollowError) -> None:
    for name, message in error.problems.items():
        form.add_error(name if name in form.fields else None, message)


@login_required
def follows_list(request: HttpRequest) -> HttpResponse:
    rows, spend = follow_rows(_user(request))
    return render(request, "copytrading/follows.html", {"rows": rows, "spend": spend})


@login_required
def follow_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not TradingAccount.objects.filter(user=user).exists():
        messages.info(request, "Set up a trading account first: paper trading needs no keys.")
        return redirect("custody")
    initial = FollowSettingsForm.initial_for(default_settings()) | {"leader_address": request.GET.get("leader", "")}
    form = FollowCreateForm(request.POST or None, user=user, initial=initial)
    risk = None
    if request.method == "POST" and form.is_valid():
        risk = _unconfirmed_risk(form, leader_address=form.cleaned_data["leader_address"])
        if risk is None:
            try:
                follow = follow_create(
                    account=form.cleaned_data["account"],
                    leader_address=form.cleaned_data["leader_address"],
                    settings=form.follow_settings(),
                    actor=user,
                )
            except FollowError as exc:
                _show_problems(form, exc)
            else:
                messages.success(request, f"You now follow {follow.leader}. Its next trades are copied within seconds.")
                return redirect("follows")
    leader = WatchedWallet.objects.filter(address=str(form["leader_address"].value() or "").lower()).first()
    context = {"form": form, "follow": None, "risk": risk, "leader": leader}
    return render(request, "copytrading/follow_form.html", context)


def _unconfirmed_risk(form: FollowSettingsForm, *, leader_address: str) -> Risk | None:
    """The worst case to confirm when the settings are risky (ratio above 1, no daily cap) and the
    follower has not ticked the confirmation yet; None when they may be saved."""
    risk = follow_risk(settings=form.follow_settings(), leader_address=leader_address)
    return None if risk is None or form.cleaned_data.get("confirm_risk") else risk


@login_required
def follow_edit(request: HttpRequest, code: str) -> HttpResponse:
    follow = _own_follow(request, code)
    form = FollowSettingsForm(request.POST or None, initial=FollowSettingsForm.initial_for(FollowSettings.of(follow)))
    risk = None
    if request.method == "POST" and form.is_valid():
        risk = _unconfirmed_risk(form, leader_address=follow.leader.address) if _riskier(form, follow) else None
        if risk is None:
            try:
                follow_update(
                    relationship=follow, settings=form.follow_settings(), actor=request.user, reason="by owner"
                )
            except FollowError as exc:
                _show_problems(form, exc)
            else:
                messages.success(request, "Saved. The next leader trade uses these settings.")
                return redirect("follow_edit", code=follow.code)
    state = follow_state(relationship=follow, switches=switch_states())
    context = {"form": form, "follow": follow, "state": state, "risk": risk, "leader": follow.leader}
    return render(request, "copytrading/follow_form.html", context)


def _riskier(form: FollowSettingsForm, follow: CopyRelationship) -> bool:
    """An edit asks for confirmation when it makes the follow risky or riskier: a higher ratio,
    or removing the daily cap (keeping what was already confirmed needs no second confirmation)."""
    new, old = form.follow_settings(), FollowSettings.of(follow)
    ratio_up = new.sizing_mode == CopyRelationship.SizingMode.PROPORTIONAL and (
        old.sizing_mode != new.sizing_mode or new.sizing_value > old.sizing_value
    )
    return ratio_up or (new.daily_cap_usdc is None and old.daily_cap_usdc is not None)


@login_required
@require_POST
def follow_status(request: HttpRequest, code: str) -> HttpResponse:
    follow = _own_follow(request, code)
    form = FollowStatusForm(request.POST)
    if form.is_valid():
        action = form.cleaned_data["action"]
        relationship_set_status(
            relationship=follow, status=FollowStatusForm.STATUS[action], actor=request.user, reason=f"{action} by owner"
        )
    if is_htmx(request):
        state = follow_state(relationship=follow, switches=switch_states())
        return render(request, "copytrading/partials/follow_status.html", {"follow": follow, "state": state})
    if request.POST.get("next") == "edit":
        return redirect("follow_edit", code=follow.code)
    return redirect("follows")
