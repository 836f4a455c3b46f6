"""Staff view of the operator wallets' tracked transactions: read-only, the monitor writes them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from execution.fleet.models import ChainTransaction
from polyhunter.admin import BoundedCountPaginator, ReadOnlyAdmin

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
