from __future__ import annotations

from django.contrib import admin

from copytrading.models import CopyRelationship, CopyTrade, Deployment, LeaderTrade, Position, WatchedWallet
from polyhunter.admin import AuditedAdmin, ReadOnlyAdmin


@admin.register(Deployment)
class DeploymentAdmin(AuditedAdmin):
    list_display = ["key", "kind", "is_active", "heartbeat_at", "description"]
    list_filter = ["kind", "is_active"]
    search_fields = ["key", "description"]
    readonly_fields = ["code", "heartbeat_at", "created_at"]


@admin.register(WatchedWallet)
class WatchedWalletAdmin(AuditedAdmin):
    list_display = ["address", "label", "paused", "last_trade_at", "data_api_polled_at"]
    list_filter = ["paused"]
    search_fields = ["address", "label"]
    readonly_fields = [
        "code",
        "data_api_cursor_ts",
        "data_api_cursor_txs",
        "data_api_polled_at",
        "poll_lease_until",
        "last_trade_at",
        "created_at",
    ]


@admin.register(CopyRelationship)
class CopyRelationshipAdmin(AuditedAdmin):
    list_display = ["id", "account", "leader", "status", "sizing_mode", "sizing_value", "daily_cap_usdc", "deployment"]
    list_filter = ["status", "sizing_mode", "deployment"]
    search_fields = ["account__user__username", "leader__address", "leader__label"]
    list_select_related = ["account__user", "leader", "deployment"]
    raw_id_fields = ["account", "leader"]
    readonly_fields = ["code", "created_at", "updated_at"]


@admin.register(LeaderTrade)
class LeaderTradeAdmin(ReadOnlyAdmin):
    list_display = ["detected_at", "leader", "side", "shares", "price", "usdc", "source", "status", "tx_hash"]
    list_filter = ["source", "status", "side"]
    search_fields = ["tx_hash", "token_id", "leader__address", "dedupe_key"]
    list_select_related = ["leader"]
    show_full_result_count = False


@admin.register(CopyTrade)
class CopyTradeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "side", "planned_usdc", "status", "reason_code", "lane", "deployment"]
    list_filter = ["status", "lane", "deployment", "reason_code"]
    search_fields = ["code", "order_hash", "token_id", "account__user__username"]
    list_select_related = ["account__user", "deployment"]
    exclude = ["signed_order"]
    show_full_result_count = False


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["account", "relationship", "token_id", "shares", "cost_usdc", "realized_pnl_usdc", "mark_price"]
    search_fields = ["token_id", "account__user__username"]
    list_select_related = ["account__user", "relationship"]
