"""A follower's notification settings: e-mail and/or a webhook, which events, and a test message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from copytrading.forms import NotificationSettingsForm
from copytrading.models import Notification
from copytrading.notifications.deliver import DIGEST_EVERY, notifications_send_test, notify_settings
from copytrading.views.common import current_user


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    prefs = notify_settings(user)
    form = NotificationSettingsForm(request.POST or None, instance=prefs)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved.")
        return redirect("notifications")
    context = {
        "form": form,
        "prefs": prefs,
        "recent": Notification.objects.filter(user=user)[:30],
        "digest_minutes": int(DIGEST_EVERY.total_seconds() // 60),
        "has_email": bool(user.email),
    }
    return render(request, "copytrading/notifications.html", context)


@login_required
@require_POST
def notifications_test(request: HttpRequest) -> HttpResponse:
    messages.info(request, notifications_send_test(user=current_user(request)))
    return redirect("notifications")
