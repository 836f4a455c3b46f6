"""Changelist filters for the operational questions staff ask of copy trades.

Every lookup list is static (no query per page view) and every filter is served by an index:
"stuck" by the partial index copytrade_open_idx, reasons by the reason_code index.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from copytrading.models import CopyTrade
from copytrading.reasons import Reason

# Reasons the execution gate gives (copytrading.pipeline, execution.guardrails), in gate order.
GUARDRAIL_REASONS = [
    Reason.KILL_SWITCH,
    Reason.GLOBAL_PAUSE,
    Reason.LEADER_PAUSED,
    Reason.ACCOUNT_PAUSED,
    Reason.FOLLOW_HELD,
    Reason.FOLLOW_PAUSED,
    Reason.EXITS_ONLY,
    Reason.MAX_ORDER_NOTIONAL,
    Reason.MARKET_POSITION_CAP,
    Reason.DAILY_CAP,
    Reason.BREAKER_OPEN,
    Reason.RATE_LIMITED,
    Reason.CUSTODY_NOT_READY,
    Reason.VENUE_VERSION,
]


class StuckFilter(admin.SimpleListFilter):
    title = "stuck beyond deadline"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Stuck: not finished and past its deadline")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() != "yes":
            return queryset
        return queryset.exclude(status__in=CopyTrade.TERMINAL).filter(deadline_at__lt=timezone.now())


class OutcomeFilter(admin.SimpleListFilter):
    title = "venue outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("unknown", "Outcome unknown"),
            ("awaiting", "Awaiting the venue (signed, unknown, delayed, live)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "unknown":
            return queryset.filter(status=CopyTrade.Status.UNKNOWN)
        if self.value() == "awaiting":
            return queryset.filter(status__in=CopyTrade.AWAITING_VENUE)
        return queryset


class _ReasonFilter(admin.SimpleListFilter):
    status: str
    reasons: list[Reason]

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(reason.value), str(reason.label)) for reason in self.reasons]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        return queryset.filter(status=self.status, reason_code=self.value())


class BlockedByFilter(_ReasonFilter):
    title = "blocked by guardrail"
    parameter_name = "blocked_by"
    status = CopyTrade.Status.BLOCKED
    reasons = GUARDRAIL_REASONS


class SkippedByFilter(_ReasonFilter):
    title = "skipped by reason"
    parameter_name = "skipped_by"
    status = CopyTrade.Status.SKIPPED
    reasons = list(Reason)
