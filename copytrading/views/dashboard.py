from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from copytrading.summaries import dashboard_for, debt_alerts, recent_copies, session_alerts
from copytrading.views.common import current_user as _user
from polyhunter.lib.charts import line_chart


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    data = dashboard_for(_user(request))
    chart = line_chart([(p.at, p.pnl) for p in data.pnl])
    alerts = session_alerts(_user(request))
    context = {"data": data, "chart": chart, "custody_alerts": alerts, "debt_alerts": debt_alerts(_user(request))}
    return render(request, "copytrading/dashboard.html", context)


@login_required
def dashboard_copies(request: HttpRequest) -> HttpResponse:
    """The recent copies table alone, polled by htmx so new copies appear without a reload."""
    return render(request, "copytrading/partials/recent_copies.html", {"recent": recent_copies(_user(request))})
