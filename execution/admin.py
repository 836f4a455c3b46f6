from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

import execution.fleet.admin  # noqa: F401 - registers ChainTransactionAdmin (the app's admin is this module)
from accounts.models import SessionKey
from execution.models import GuardrailSettings, TradingSwitch, VenueHealth
from execution.session_custody import session_rotate, session_rotation_progress
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


@admin.register(SessionKey)
class SessionKeyAdmin(ReadOnlyAdmin):
    """Session signers of session-mode accounts: public facts only (the key and its API
    credentials are never shown). Rotation gives the selected keys' accounts a new signer to
    authorise; each old key signs until its follower has authorised the new one."""

    list_display = ["address", "account", "wallet_address", "state", "scope", "valid_until", "revoked_at", "secrets"]
    list_filter = ["state"]
    search_fields = ["address", "wallet_address", "account__user__username"]
    list_select_related = ["account__user"]
    exclude = ["key_ciphertext", "api_credentials_ciphertext"]
    actions = ["rotate_selected"]

    @admin.display(description="Key")
    def secrets(self, obj: SessionKey) -> str:
        return "held (encrypted)" if obj.key_ciphertext is not None else "erased"

    def has_rotate_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.change_sessionkey"))

    @admin.action(description="Rotate: ask these followers to authorise a new signer", permissions=["rotate"])
    def rotate_selected(self, request: HttpRequest, queryset: QuerySet[SessionKey]) -> None:
        for key in queryset.filter(state=SessionKey.State.CURRENT).select_related("account"):
            session_rotate(account=key.account, actor=request.user)
        progress = session_rotation_progress()
        self.message_user(
            request,
            f"Rotation: {progress.waiting} follower(s) still to authorise their new signer (their old one keeps "
            f"signing until then); {progress.moved} with no rotation pending.",
            messages.SUCCESS,
        )
