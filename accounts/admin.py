from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import TradingAccount, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    readonly_fields = ["code"]


@admin.register(TradingAccount)
class TradingAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Secrets are never shown: only whether each is set, its key id and the signer address."""

    list_display = ["label", "user", "mode", "signer_address", "signature_type", "key_status", "paused"]
    list_filter = ["mode", "signature_type", "paused"]
    search_fields = ["label", "user__username", "signer_address", "funder_address", "owner_address"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    exclude = ["private_key_ciphertext", "api_credentials_ciphertext"]
    readonly_fields = [
        "code",
        "mode",
        "signer_address",
        "funder_address",
        "owner_address",
        "signature_type",
        "private_key_status",
        "api_credentials_status",
        "secrets_key_id",
        "paused",
        "paused_reason",
        "paused_at",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="Secrets")
    def key_status(self, obj: TradingAccount) -> str:
        return (
            f"key {'set' if obj.has_private_key else 'not set'}, API {'set' if obj.has_api_credentials else 'not set'}"
        )

    @admin.display(description="Private key")
    def private_key_status(self, obj: TradingAccount) -> str:
        return "set" if obj.has_private_key else "not set"

    @admin.display(description="API credentials")
    def api_credentials_status(self, obj: TradingAccount) -> str:
        return "set" if obj.has_api_credentials else "not set"
