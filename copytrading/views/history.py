from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from copytrading.forms import HistoryFilterForm
from copytrading.history import HistoryFilter, history_csv, history_rows, history_views
from copytrading.views.common import current_user

PER_PAGE = 50


def _filters(request: HttpRequest) -> tuple[HistoryFilterForm, HistoryFilter]:
    form = HistoryFilterForm(request.GET or None, user=current_user(request))
    if not form.is_valid():
        return form, HistoryFilter()
    return form, HistoryFilter(**{k: v for k, v in form.cleaned_data.items() if v not in (None, "")})


@login_required
def history(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    page = Paginator(history_rows(user=current_user(request), filters=filters), PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = history_views(list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "rows": rows, "query": query.urlencode()}
    return render(request, "copytrading/history.html", context)


@login_required
def history_export(request: HttpRequest) -> StreamingHttpResponse:
    _, filters = _filters(request)
    rows = history_rows(user=current_user(request), filters=filters)
    response = StreamingHttpResponse(history_csv(rows), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="polyhunter-history-{stamp}.csv"'
    return response
