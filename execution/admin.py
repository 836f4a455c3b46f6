from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from execution.models import GuardrailSettings, TradingSwitch, VenueHealth
from polyhunter.admin import AuditedAdmin, ReadOnlyAdmin


@admin.register(GuardrailSettings)
class GuardrailSettingsAdmin(AuditedAdmin):
    list_display = [
        "__str__",
        "max_order_usdc",
        "max_daily_usdc_per_account",
        "max_market_position_usdc",
        "default_follow_daily_cap_usdc",
        "updated_at",
    ]
    readonly_fields = ["updated_at", "updated_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not GuardrailSettings.objects.exists()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.updated_by = request.user if request.user.is_authenticated else None
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TradingSwitch)
class TradingSwitchAdmin(ReadOnlyAdmin):
    """Read-only here: switches are flipped on the staff console (/admin/console/), reason required."""

    list_display = ["name", "engaged", "reason", "changed_by_label", "changed_at"]


@admin.register(VenueHealth)
class VenueHealthAdmin(ReadOnlyAdmin):
    """Why the gateway refuses orders (version canary), read-only: the gateway writes it."""

    list_display = ["__str__", "seen_version", "expected_version", "refused", "refused_since", "checked_at", "detail"]
    readonly_fields = [
        "expected_version",
        "seen_version",
        "refused",
        "detail",
        "checked_at",
        "last_ok_at",
        "refused_since",
    ]
