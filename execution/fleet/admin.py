"""Staff's view of the fleet: the operator wallets (balances, state, what each is doing; drain /
disable / activate, reason asked, audited), the debt ledger, and the tracked transactions
(read-only, the monitor writes them). Imported by execution.admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from execution.fleet.debts import debt_forgive, debt_retry_now
from execution.fleet.models import ChainTransaction, DebtRecord, OperatorWallet
from execution.fleet.wallets import wallet_set_state
from polyhunter.admin import BoundedCountPaginator, ReadOnlyAdmin, ask_reason

# Polygon makes a block about every 2 s: unmined after this long is well past the monitor's
# replacement threshold and worth a look (the monitor itself counts blocks, not minutes).
STUCK_AFTER = timedelta(minutes=5)


class StuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Stuck: sent, not mined after 5 minutes")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() != "yes":
            return queryset
        return queryset.filter(state=ChainTransaction.State.SENT, sent_at__lt=timezone.now() - STUCK_AFTER)


class ReplacedFilter(admin.SimpleListFilter):
    title = "replacements"
    parameter_name = "replacements"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Replaced, or a replacement of another")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() != "yes":
            return queryset
        replacements = ChainTransaction.objects.filter(replaced_by__isnull=False).values("replaced_by")
        return queryset.filter(Q(state=ChainTransaction.State.REPLACED) | Q(pk__in=replacements))


@admin.register(ChainTransaction)
class ChainTransactionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "purpose",
        "copy_id",
        "wallet",
        "nonce",
        "state",
        "attempts",
        "max_fee_gwei",
        "sent_at",
        "block_number",
        "short_error",
    ]
    list_filter = ["state", "purpose", StuckFilter, ReplacedFilter]
    search_fields = ["=tx_hash", "=wallet", "=copy_id"]
    exclude = ["raw_tx", "call_data"]
    readonly_fields = ["raw_tx_hex"]
    ordering = ["-id"]
    paginator = BoundedCountPaginator
    show_full_result_count = False

    @admin.display(description="max fee (gwei)")
    def max_fee_gwei(self, row: ChainTransaction) -> str:
        return f"{row.max_fee_per_gas / 10**9:.2f} / tip {row.max_priority_fee_per_gas / 10**9:.2f}"

    @admin.display(description="last error")
    def short_error(self, row: ChainTransaction) -> str:
        return row.last_error[:80]

    @admin.display(description="signed bytes (public once broadcast)")
    def raw_tx_hex(self, row: ChainTransaction) -> str:
        return "0x" + bytes(row.raw_tx).hex()


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
    actions = ["retry_selected", "forgive_selected"]

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("execution.change_debtrecord"))

    @admin.action(description="Retry collection now (asks for a reason)", permissions=["manage"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[DebtRecord]) -> Any:
        return self._with_reason(request, queryset, "retry_selected", "Retry collection", debt_retry_now)

    @admin.action(description="Forgive: write off (asks for a reason)", permissions=["manage"])
    def forgive_selected(self, request: HttpRequest, queryset: QuerySet[DebtRecord]) -> Any:
        return self._with_reason(request, queryset, "forgive_selected", "Forgive", debt_forgive)

    def _with_reason(
        self, request: HttpRequest, queryset: QuerySet[DebtRecord], action: str, title: str, service: Any
    ) -> Any:
        reason = ask_reason(self, request, queryset, action=action, title=title)
        if not isinstance(reason, str):
            return reason
        done = sum(bool(service(debt=debt, reason=reason, actor=request.user)) for debt in queryset)
        self.message_user(request, f"{title}: {done} open debt(s).", messages.SUCCESS)
        return None
