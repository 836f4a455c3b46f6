"""The staff console: a custom admin page, wrapped by admin.site.admin_view (staff only)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from copytrading.console.forms import RouteForm, SwitchForm
from copytrading.console.status import COUNT_CAP, console_status
from copytrading.demo_feed import running_demo_feed
from copytrading.routing import RoutingError, user_route
from execution.models import TradingSwitch
from execution.switches import SwitchError, switch_set


def console(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        kind = request.POST.get("form")
        if kind == "switch":
            return _flip_switch(request)
        if kind == "route":
            return _route_user(request)
        if kind == "demo_trade":
            return _demo_trade(request)
    context = {
        **admin.site.each_context(request),
        "title": "Staff console",
        "status": console_status(),
        "count_cap": COUNT_CAP,
        "route_form": RouteForm(),
        "can_flip": request.user.has_perm("execution.change_tradingswitch"),
        "can_route": request.user.has_perm("copytrading.change_copyrelationship"),
        "demo_feed": running_demo_feed(),
    }
    return render(request, "admin/console.html", context)


def _flip_switch(request: HttpRequest) -> HttpResponse:
    form = SwitchForm(request.POST)
    if not request.user.has_perm("execution.change_tradingswitch"):
        messages.error(request, "You may not change the trading switches.")
    elif not form.is_valid():
        messages.error(request, "A reason is required to change a switch.")
    else:
        try:
            state = switch_set(
                name=form.cleaned_data["name"],
                engaged=form.cleaned_data["engaged"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except SwitchError as exc:
            messages.error(request, str(exc))
        else:
            label = TradingSwitch.Name(state.name).label
            messages.success(request, f"{label}: now {'ON' if state.engaged else 'off'}.")
    return redirect("console")


def _route_user(request: HttpRequest) -> HttpResponse:
    form = RouteForm(request.POST)
    if not request.user.has_perm("copytrading.change_copyrelationship"):
        messages.error(request, "You may not move users between deployments.")
    elif not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()))
    else:
        user, deployment = form.cleaned_data["username"], form.cleaned_data["deployment"]
        try:
            moved = user_route(user=user, deployment=deployment, actor=request.user, reason=form.cleaned_data["reason"])
        except RoutingError as exc:
            messages.error(request, str(exc))
        else:
            target = deployment.key if deployment else "shared"
            messages.success(request, f"{user.username}: {moved} follow(s) moved to {target}.")
    return redirect("console")


def _demo_trade(request: HttpRequest) -> HttpResponse:
    """Embedded demo only: one leader trade now, through the venue's Data API like any other."""
    feed = running_demo_feed()
    if feed is None:
        messages.error(request, "No demo feed runs in this process (it exists in embedded mode: make demo).")
        return redirect("console")
    leader = request.POST.get("leader") or None
    side = request.POST.get("side") if request.POST.get("side") in ("BUY", "SELL") else None
    if leader is not None and leader not in {x.address for x in feed.leaders}:
        messages.error(request, "That is not one of the demo's leaders.")
        return redirect("console")
    trade = feed.next_trade(leader=leader, side=side)
    messages.success(request, f"{trade.words()}. Its followers' copies appear within seconds.")
    return redirect("console")
