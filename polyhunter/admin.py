from __future__ import annotations

from functools import cached_property
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_dramatiq import admin as _dramatiq_admin  # noqa: F401  (registers Task first, whatever the app order)
from django_dramatiq.models import Task

from polyhunter.audit import audited_save
from polyhunter.models import ArchivedAuditEvent, AuditEvent

# django_dramatiq's Task admin renders message arguments with mark_safe; we never store task
# rows (no AdminMiddleware) and do not want that page at all.
if admin.site.is_registered(Task):
    admin.site.unregister(Task)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Ledgers and logs: viewable, never added, edited or deleted from the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BoundedCountPaginator(Paginator):  # type: ignore[type-arg]
    """Counts at most CAP rows (COUNT over a LIMIT subquery), so a huge table never gets a full COUNT.

    Pages past CAP are not reachable by page number; filters narrow the list instead. The
    changelist shows "CAP+" for a capped count (templates/admin/pagination.html).
    """

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            return rows[: self.CAP].count()
        return min(len(rows), self.CAP)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 60}))


def ask_reason(
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action: str,
    title: str,
) -> str | HttpResponse:
    """For an admin action that needs a reason: the reason once given, else the page asking for it."""
    form = ReasonForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        return str(form.cleaned_data["reason"]).strip()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "action": action,
        "rows": queryset[:100],
        "selected": [str(pk) for pk in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)],
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/reason_action.html", context)


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Human edits of money-affecting rows go through audited_save (who, when, before, after)."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        action = f"{obj._meta.model_name}.{'change' if change else 'create'}"
        audited_save(actor=request.user, instance=obj, changed_fields=list(form.changed_data), action=action)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "target_type", "target_id", "reason"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "action", "target_id", "reason"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    paginator = BoundedCountPaginator


@admin.register(ArchivedAuditEvent)
class ArchivedAuditEventAdmin(ReadOnlyAdmin):
    """Audit rows past retention (``manage.py archive``): the trail, whole, out of the live table."""

    list_display = ["created_at", "actor_label", "action", "target_type", "target_id", "reason"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "action", "target_id", "reason"]
    show_full_result_count = False
    paginator = BoundedCountPaginator
