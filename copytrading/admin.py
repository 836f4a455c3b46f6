"""The staff console's model pages. Thin: every change goes through the service the commands use."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

import copytrading.detection.admin  # noqa: F401  (DetectorState, ChainCursor: read-only staff views)
from accounts.admin import TradingAccountAdmin
from accounts.models import TradingAccount
from copytrading.admin_filters import BlockedByFilter, OutcomeFilter, SkippedByFilter, StuckFilter
from copytrading.controls import account_set_paused, leader_set_paused, relationship_set_hold
from copytrading.follows import (
    SETTING_FIELDS,
    FollowError,
    FollowSettings,
    follow_settings_problems,
    follow_update,
)
from copytrading.models import (
    ArchivedCopyTrade,
    ArchivedLeaderTrade,
    CopyRelationship,
    CopyTrade,
    Deployment,
    LeaderProfile,
    LeaderTrade,
    MarketLabel,
    Notification,
    NotificationSettings,
    Position,
    WatchedWallet,
    live_follows,
)
from copytrading.outcomes import staff_words
from copytrading.pipeline.reconcile import ReconcileFinding, copytrades_reconcile_report
from copytrading.pipeline.sweep import copytrades_expire
from copytrading.routing import deployment_change_problem
from copytrading.summaries import follow_state
from copytrading.venue_orders import VenueOrderView, venue_order_view
from execution.switches import switch_states
from polyhunter.admin import AuditedAdmin, BoundedCountPaginator, ReadOnlyAdmin, ReasonForm, ask_reason

AMOUNT_FIELDS = [
    "planned_price",
    "planned_size",
    "planned_usdc",
    "quote_price",
    "size_matched",
    "fill_price",
    "fill_usdc",
    "fee_usdc",
    "signal_price",
]
AMOUNT_DISPLAYS = [f"{name}_shown" for name in AMOUNT_FIELDS]


def _pusd(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f} pUSD"


def _shares(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f} shares"


def _price(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):.4f} pUSD/share"


def reconcile_words(looked_at: int, found: list[ReconcileFinding]) -> str:
    """What "reconcile now" found, row by row: 'copy 1a2b…: unknown → filled'."""
    if not looked_at:
        return "Nothing to ask the venue about: these rows are finished, or a worker holds them right now."
    changes = [
        f"copy {f.code[:8]}…: {f.before} → {f.after}" + (f" ({f.reason})" if f.reason and f.after != f.before else "")
        if f.after != f.before
        else f"copy {f.code[:8]}…: still {f.after}"
        for f in found[:10]
    ]
    more = f"; and {len(found) - 10} more" if len(found) > 10 else ""
    return f"Asked the venue about {looked_at} order(s): " + "; ".join(changes) + more + "."


class DeploymentForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Deployment
        fields = ["key", "kind", "description", "is_active"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        problem = deployment_change_problem(
            deployment=self.instance,
            is_active=bool(cleaned.get("is_active")),
            kind=str(cleaned.get("kind", self.instance.kind)),
        )
        if problem:
            raise forms.ValidationError(problem)
        return cleaned


@admin.register(Deployment)
class DeploymentAdmin(AuditedAdmin):
    form = DeploymentForm
    list_display = ["key", "kind", "is_active", "heartbeat_at", "queues", "follows", "description"]
    list_filter = ["kind", "is_active"]
    search_fields = ["key", "description"]
    readonly_fields = ["code", "heartbeat_at", "queues", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Deployment | None = None) -> list[str]:
        # The key is the workers' DEPLOYMENT_ID and the prefix of their queues: renaming it would
        # strand the rows and messages of the running workers.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "key"] if obj is not None else fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Deployment]:
        rows: QuerySet[Deployment] = super().get_queryset(request)
        return rows.annotate(follow_count=Count("relationships"))

    @admin.display(description="Queues")
    def queues(self, obj: Deployment) -> str:
        return " ".join(obj.queue_names)

    @admin.display(description="Follows routed")
    def follows(self, obj: Deployment) -> int:
        return int(getattr(obj, "follow_count", 0))


def with_market_names(rows: QuerySet[Any]) -> QuerySet[Any]:
    """Annotate each row's market question and outcome from the MarketLabel cache (one query for
    the whole changelist page, no venue call)."""
    labels = MarketLabel.objects.filter(token_id=OuterRef("token_id"))
    annotated: QuerySet[Any] = rows.annotate(
        market_title=Subquery(labels.values("title")[:1]), market_outcome=Subquery(labels.values("outcome")[:1])
    )
    return annotated


@admin.display(description="Market")
def market_column(obj: Any) -> str:
    title, outcome = getattr(obj, "market_title", None), getattr(obj, "market_outcome", None)
    if not title:
        return f"token {obj.token_id[:6]}…{obj.token_id[-4:]}"
    return f"{title} — {outcome}" if outcome else str(title)


class FollowerInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CopyRelationship
    fk_name = "leader"
    fields = ["account", "status", "staff_hold", "sizing_mode", "sizing_value", "daily_cap_usdc", "deployment"]
    readonly_fields = ["account", "status", "staff_hold", "sizing_mode", "sizing_value", "daily_cap_usdc", "deployment"]
    can_delete = False
    extra = 0
    show_change_link = True
    verbose_name_plural = "followers"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CopyRelationship]:
        return super().get_queryset(request).select_related("account__user", "deployment")


def _pause_action(*, paused: bool, verb: str, service: Any, field: str) -> Any:
    """A bulk pause/resume action that asks for a reason and calls an audited controls service."""

    @admin.action(description=f"{verb.capitalize()} selected (asks for a reason)", permissions=["change"])
    def action(model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        reason = ask_reason(model_admin, request, queryset, action=f"{verb}_selected", title=f"{verb.capitalize()}")
        if not isinstance(reason, str):
            return reason
        for row in queryset:
            service(**{field: row}, paused=paused, actor=request.user, reason=reason)
        model_admin.message_user(request, f"{verb.capitalize()}d {queryset.count()}.", messages.SUCCESS)
        return None

    action.__name__ = f"{verb}_selected"
    return action


@admin.register(WatchedWallet)
class WatchedWalletAdmin(AuditedAdmin):
    list_display = ["address", "label", "paused", "paused_reason", "follower_count", "last_trade_at"]
    list_filter = ["paused"]
    search_fields = ["address", "label"]
    inlines = [FollowerInline]
    readonly_fields = [
        "code",
        "paused",
        "paused_reason",
        "paused_at",
        "data_api_cursor_ts",
        "data_api_cursor_txs",
        "data_api_polled_at",
        "poll_lease_until",
        "last_trade_at",
        "created_at",
    ]
    actions = [
        _pause_action(paused=True, verb="pause", service=leader_set_paused, field="leader"),
        _pause_action(paused=False, verb="resume", service=leader_set_paused, field="leader"),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WatchedWallet]:
        rows: QuerySet[WatchedWallet] = super().get_queryset(request)
        return rows.annotate(follower_total=Count("followers", filter=live_follows("followers__")))

    @admin.display(description="Followers (not stopped)", ordering="follower_total")
    def follower_count(self, obj: WatchedWallet) -> int:
        return int(getattr(obj, "follower_total", 0))


class CopyRelationshipForm(forms.ModelForm):  # type: ignore[type-arg]
    """Staff edits obey the same rules as the follower's form (copytrading.follows)."""

    class Meta:
        model = CopyRelationship
        fields = list(SETTING_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            settings = FollowSettings(**{name: data[name] for name in SETTING_FIELDS})
            for name, message in follow_settings_problems(settings).items():
                self.add_error(name if name in self.fields else None, message)
        return data


@admin.register(CopyRelationship)
class CopyRelationshipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CopyRelationshipForm
    list_display = [
        "code",
        "account",
        "leader",
        "status",
        "staff_hold",
        "sizing_mode",
        "sizing_value",
        "daily_cap_usdc",
        "deployment",
    ]
    list_filter = ["status", "staff_hold", "sizing_mode", "deployment"]
    search_fields = ["account__user__username", "leader__address", "leader__label", "code"]
    list_select_related = ["account__user", "leader", "deployment"]
    raw_id_fields = ["account", "leader"]
    # Status, holds and routing change only through their audited services (actions, console).
    readonly_fields = [
        *("code", "account", "leader", "effective_state", "status", "status_reason", "status_changed_at"),
        *("staff_hold", "staff_hold_reason", "staff_hold_at", "deployment", "created_at", "updated_at"),
    ]
    actions = ["pause_selected", "resume_selected", "stop_selected"]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        # The switches once per page, not once per row; the column reads as the follower's pages do.
        switches = switch_states()

        @admin.display(description="Effective state")
        def effective(obj: CopyRelationship) -> str:
            state = follow_state(relationship=obj, switches=switches)
            return f"{state.label}: {state.why}"

        return [*self.list_display[:3], effective, *self.list_display[3:]]

    @admin.display(description="Effective state")
    def effective_state(self, obj: CopyRelationship) -> str:
        state = follow_state(relationship=obj, switches=switch_states())
        return f"{state.label}: {state.why}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # followers create follows on their pages (copytrading.follows.follow_create)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CopyRelationship, form: Any, change: bool) -> None:
        try:
            follow_update(relationship=obj, settings=FollowSettings.of(obj), actor=request.user, reason="staff edit")
        except FollowError as exc:  # the form's clean() already refused these; a race is the only way here
            self.message_user(request, str(exc), messages.ERROR)

    def _set_hold(self, request: HttpRequest, queryset: QuerySet[CopyRelationship], hold: str, verb: str) -> Any:
        reason = ask_reason(self, request, queryset, action=f"{verb}_selected", title=verb.capitalize())
        if not isinstance(reason, str):
            return reason
        for follow in queryset:
            relationship_set_hold(relationship=follow, hold=hold, actor=request.user, reason=reason)
        self.message_user(request, f"{verb.capitalize()}: {queryset.count()} follow(s).", messages.SUCCESS)
        return None

    @admin.action(description="Pause selected follows (a staff hold only staff lift)", permissions=["change"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[CopyRelationship]) -> Any:
        return self._set_hold(request, queryset, CopyRelationship.StaffHold.PAUSED, "pause")

    @admin.action(description="Resume selected follows (lift the staff hold)", permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[CopyRelationship]) -> Any:
        return self._set_hold(request, queryset, CopyRelationship.StaffHold.NONE, "resume")

    @admin.action(description="Stop selected follows (a staff hold only staff lift)", permissions=["change"])
    def stop_selected(self, request: HttpRequest, queryset: QuerySet[CopyRelationship]) -> Any:
        return self._set_hold(request, queryset, CopyRelationship.StaffHold.STOPPED, "stop")


@admin.register(LeaderTrade)
class LeaderTradeAdmin(ReadOnlyAdmin):
    list_display = [
        "detected_at",
        "leader",
        market_column,
        "side",
        "shares",
        "price",
        "usdc",
        "source",
        "lag",
        "status",
        "tx_hash",
    ]
    list_filter = ["source", "status", "side"]
    search_fields = ["tx_hash", "token_id", "leader__address", "dedupe_key"]
    list_select_related = ["leader"]
    show_full_result_count = False
    paginator = BoundedCountPaginator

    def get_queryset(self, request: HttpRequest) -> QuerySet[LeaderTrade]:
        return with_market_names(super().get_queryset(request))

    @admin.display(description="Detection lag")
    def lag(self, obj: LeaderTrade) -> str:
        return f"{obj.detection_lag_seconds:.1f} s"


@admin.register(CopyTrade)
class CopyTradeAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "leader",
        market_column,
        "side",
        "planned",
        "filled",
        "fee",
        "status",
        "explanation",
        "lane",
        "deployment",
    ]
    list_filter = [
        StuckFilter,
        OutcomeFilter,
        BlockedByFilter,
        SkippedByFilter,
        "status",
        "lane",
        "deployment",
    ]
    search_fields = ["=code", "=order_hash", "=token_id", "account__user__username"]
    list_select_related = ["account__user", "deployment", "relationship__leader", "leader_trade"]
    raw_id_fields = ["relationship", "leader_trade", "account"]
    # Amounts are shown with their units (pUSD, shares, price per share) instead of bare numbers.
    exclude = ["signed_order", *AMOUNT_FIELDS]
    show_full_result_count = False
    paginator = BoundedCountPaginator
    change_form_template = "admin/copytrading/copytrade/change_form_ops.html"
    actions = ["reconcile_now", "expire", "show_venue_order"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CopyTrade]:
        return with_market_names(super().get_queryset(request))

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("copytrading.change_copytrade")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), *AMOUNT_DISPLAYS]

    @admin.display(description="Leader")
    def leader(self, obj: CopyTrade) -> str:
        return str(obj.relationship.leader)

    @admin.display(description="Planned")
    def planned(self, obj: CopyTrade) -> str:
        return _pusd(obj.planned_usdc)

    @admin.display(description="Fee")
    def fee(self, obj: CopyTrade) -> str:
        return _pusd(obj.fee_usdc) if obj.size_matched else "—"

    @admin.display(description="Filled")
    def filled(self, obj: CopyTrade) -> str:
        return f"{_shares(obj.size_matched)} for {_pusd(obj.fill_usdc)}" if obj.size_matched else "—"

    @admin.display(description="Worst price signed")
    def planned_price_shown(self, obj: CopyTrade) -> str:
        return _price(obj.planned_price)

    @admin.display(description="Planned size")
    def planned_size_shown(self, obj: CopyTrade) -> str:
        return _shares(obj.planned_size)

    @admin.display(description="Planned notional")
    def planned_usdc_shown(self, obj: CopyTrade) -> str:
        return _pusd(obj.planned_usdc)

    @admin.display(description="Best opposite price when decided")
    def quote_price_shown(self, obj: CopyTrade) -> str:
        return _price(obj.quote_price)

    @admin.display(description="Size matched")
    def size_matched_shown(self, obj: CopyTrade) -> str:
        return _shares(obj.size_matched)

    @admin.display(description="Fill price")
    def fill_price_shown(self, obj: CopyTrade) -> str:
        return _price(obj.fill_price)

    @admin.display(description="Filled notional")
    def fill_usdc_shown(self, obj: CopyTrade) -> str:
        return _pusd(obj.fill_usdc)

    @admin.display(description="Fee")
    def fee_usdc_shown(self, obj: CopyTrade) -> str:
        return _pusd(obj.fee_usdc)

    @admin.display(description="Trigger price (protective exits)")
    def signal_price_shown(self, obj: CopyTrade) -> str:
        return _price(obj.signal_price)

    @admin.display(description="What happened (raw detail)")
    def explanation(self, obj: CopyTrade) -> str:
        return staff_words(obj)

    def get_urls(self) -> list[URLPattern]:
        ops = [
            path("<int:pk>/reconcile/", self.admin_site.admin_view(self.reconcile_view), name="copytrade_reconcile"),
            path("<int:pk>/expire/", self.admin_site.admin_view(self.expire_view), name="copytrade_expire"),
            path("<int:pk>/venue-order/", self.admin_site.admin_view(self.venue_order), name="copytrade_venue_order"),
        ]
        return ops + super().get_urls()

    @admin.action(description="Reconcile now (ask the venue about these orders)", permissions=["operate"])
    def reconcile_now(self, request: HttpRequest, queryset: QuerySet[CopyTrade]) -> None:
        self._reconcile_and_report(request, list(queryset.values_list("id", flat=True)))

    def _reconcile_and_report(self, request: HttpRequest, ids: list[int]) -> None:
        looked_at, found = copytrades_reconcile_report(ids=ids, actor=request.user)
        self.message_user(request, reconcile_words(looked_at, found), messages.SUCCESS)

    @admin.action(description="Expire (rows never sent to the venue; asks for a reason)", permissions=["operate"])
    def expire(self, request: HttpRequest, queryset: QuerySet[CopyTrade]) -> Any:
        reason = ask_reason(self, request, queryset, action="expire", title="Expire copy trades")
        if not isinstance(reason, str):
            return reason
        ids = list(queryset.values_list("id", flat=True))
        expired = copytrades_expire(ids=ids, actor=request.user, reason=reason)
        left = len(ids) - expired
        note = f"; {left} may have reached the venue and were left alone (reconcile them)" if left else ""
        self.message_user(request, f"Expired {expired} copy trade(s){note}.", messages.SUCCESS)
        return None

    @admin.action(description="Show venue order (one row; asks the venue, audited)", permissions=["operate"])
    def show_venue_order(self, request: HttpRequest, queryset: QuerySet[CopyTrade]) -> Any:
        first = queryset.order_by("id").first()
        if first is None:
            return None
        return redirect("admin:copytrade_venue_order", pk=first.pk)

    def reconcile_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        trade = get_object_or_404(CopyTrade, pk=pk)
        if request.method == "POST" and self.has_operate_permission(request):
            self._reconcile_and_report(request, [trade.pk])
        return redirect("admin:copytrading_copytrade_change", trade.pk)

    def expire_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        trade = get_object_or_404(CopyTrade, pk=pk)
        if not self.has_operate_permission(request):
            return redirect("admin:copytrading_copytrade_change", trade.pk)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            expired = copytrades_expire(ids=[trade.pk], actor=request.user, reason=form.cleaned_data["reason"])
            note = "Expired." if expired else "Not expired: it may have reached the venue; reconcile it instead."
            self.message_user(request, note, messages.SUCCESS if expired else messages.WARNING)
            return redirect("admin:copytrading_copytrade_change", trade.pk)
        context = {**self.admin_site.each_context(request), "title": "Expire copy trade", "form": form}
        context |= {"trade": trade, "opts": self.model._meta}
        return TemplateResponse(request, "admin/copytrading/copytrade/expire.html", context)

    def venue_order(self, request: HttpRequest, pk: int) -> HttpResponse:
        # Checked before anything is read: answering opens the follower's API credentials.
        if not self.has_operate_permission(request):
            raise PermissionDenied
        trade = get_object_or_404(CopyTrade.objects.select_related("account"), pk=pk)
        view: VenueOrderView = venue_order_view(trade=trade, actor=request.user)
        context = {**self.admin_site.each_context(request), "title": "Venue order", "trade": trade, "view": view}
        context |= {"opts": self.model._meta, "back": reverse("admin:copytrading_copytrade_change", args=[trade.pk])}
        return TemplateResponse(request, "admin/copytrading/copytrade/venue_order.html", context)


@admin.register(ArchivedCopyTrade)
class ArchivedCopyTradeAdmin(ReadOnlyAdmin):
    """Copy trades past retention (``manage.py archive``), as they were when archived."""

    list_display = ["created_at", "account", "leader_address", "side", "status", "reason_code", "fill_usdc"]
    list_filter = ["status", "side"]
    search_fields = ["=code", "=order_hash", "=token_id", "account__user__username", "leader_address"]
    list_select_related = ["account__user"]
    show_full_result_count = False
    paginator = BoundedCountPaginator


@admin.register(ArchivedLeaderTrade)
class ArchivedLeaderTradeAdmin(ReadOnlyAdmin):
    list_display = ["detected_at", "leader", "side", "shares", "price", "usdc", "source", "status", "tx_hash"]
    list_filter = ["source", "status", "side"]
    search_fields = ["tx_hash", "token_id", "leader__address", "dedupe_key"]
    list_select_related = ["leader"]
    show_full_result_count = False
    paginator = BoundedCountPaginator


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "relationship",
        market_column,
        "token_id",
        "shares",
        "cost_usdc",
        "realized_pnl_usdc",
        "mark_price",
    ]
    search_fields = ["token_id", "account__user__username"]
    list_select_related = ["account__user", "relationship__leader", "relationship__account__user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Position]:
        return with_market_names(super().get_queryset(request))


class TradingAccountOpsAdmin(TradingAccountAdmin):
    """The accounts app's admin plus pause/resume (copytrading.controls sits above accounts)."""

    actions = [
        _pause_action(paused=True, verb="pause", service=account_set_paused, field="account"),
        _pause_action(paused=False, verb="resume", service=account_set_paused, field="account"),
    ]


admin.site.unregister(TradingAccount)
admin.site.register(TradingAccount, TradingAccountOpsAdmin)


@admin.register(MarketLabel)
class MarketLabelAdmin(ReadOnlyAdmin):
    """Market names cached from the venue (and Data API rows); read-only, refreshed by the workers."""

    list_display = ["title", "outcome", "token_id", "condition_id", "tick_size", "fee_rate", "source", "fetched_at"]
    search_fields = ["title", "token_id", "condition_id"]
    list_filter = ["source"]


@admin.register(LeaderProfile)
class LeaderProfileAdmin(ReadOnlyAdmin):
    """Track records of the leader directory (computed by the workers from the Data API)."""

    list_display = ["leader", "state", "refreshed_at", "refresh_error", "proposed_by", "created_at"]
    list_filter = ["state"]
    search_fields = ["leader__address", "leader__label"]
    list_select_related = ["leader", "proposed_by"]
    exclude = ["trades"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "text", "sent_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "text"]
    list_select_related = ["user"]
    show_full_result_count = False
    paginator = BoundedCountPaginator


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "email",
        "webhook_set",
        "copy_failed",
        "follow_held",
        "custody",
        "last_sent_at",
        "last_error",
    ]
    search_fields = ["user__username"]
    exclude = ["webhook_url"]  # a follower's webhook may carry a bridge token: staff see whether it is set

    @admin.display(description="Webhook", boolean=True)
    def webhook_set(self, obj: NotificationSettings) -> bool:
        return bool(obj.webhook_url)
