from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_dramatiq.models import Task

from polyhunter.audit import audited_save
from polyhunter.models import AuditEvent

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
