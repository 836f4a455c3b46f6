"""Staff's view of the fleet and the debt ledger: balances, state, what each wallet is doing;
drain / disable / activate (reason asked, audited). Imported by execution.admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from execution.fleet.models import DebtRecord, OperatorWallet
from execution.fleet.wallets import wallet_set_state
from polyhunter.admin import ReadOnlyAdmin, ask_reason


def _state_action(state: str, verb: str) -> Any:
    @admin.action(description=f"{verb} selected wallets (asks for a reason)", permissions=["manage"])
    def action(model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        reason = ask_reason(model_admin, request, queryset, action=f"{state}_selected", title=verb)
        if not isinstance(reason, str):
            return reason
        for wallet in queryset:
            wallet_set_state(wallet=wallet, state=state, reason=reason, actor=request.user)
        model_admin.message_user(request, f"{verb}: {queryset.count()} wallet(s).", messages.SUCCESS)
        return None

    action.__name__ = f"{state}_selected"
    return action


@admin.register(OperatorWallet)
class OperatorWalletAdmin(ReadOnlyAdmin):
    """Read-only rows (the configuration and the chain write them); state changes are actions."""

    list_display = [
        "index",
        "address",
        "state",
        "float_usdc",
        "gas_pol",
        "balances_read_at",
        "in_flight",
        "doing",
        "lease_until",
        "last_nonce",
        "state_reason",
    ]
    list_filter = ["state"]
    search_fields = ["address", "lease_holder"]
    actions = [
        _state_action(OperatorWallet.State.DRAINING, "Drain"),
        _state_action(OperatorWallet.State.DISABLED, "Disable"),
        _state_action(OperatorWallet.State.ACTIVE, "Activate"),
    ]

    @admin.display(description="Doing")
    def doing(self, obj: OperatorWallet) -> str:
        if not obj.lease_holder:
            return "idle"
        return f"{obj.activity or 'leased'} ({obj.lease_holder})"

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("execution.change_operatorwallet"))


@admin.register(DebtRecord)
class DebtRecordAdmin(ReadOnlyAdmin):
    """The debt ledger: what each follower owes for which copy, why, and recovery's progress."""

    list_display = [
        "created_at",
        "account",
        "copy_trade_id",
        "amount_usdc",
        "cause",
        "state",
        "attempts",
        "next_try_at",
        "detail",
    ]
    list_filter = ["state", "cause"]
    search_fields = ["follower_address", "operator_address", "account__user__username", "=copy_trade_id"]
    list_select_related = ["account__user"]
