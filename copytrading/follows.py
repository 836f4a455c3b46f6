"""Follows: a follower starts, edits and restarts copying a leader, every change audited.

Pause, resume and stop go through copytrading.controls (the same services staff use). The
settings rules live in ``follow_settings_problems`` so the follower form, the staff admin and
these services refuse exactly the same things.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from accounts.models import TradingAccount
from copytrading.models import CopyRelationship, Deployment, WatchedWallet, live_follows
from execution.models import GuardrailSettings
from polyhunter.audit import Actor, audit_record, snapshot
from polyhunter.lib.addresses import InvalidAddress, normalize_address

# A market is named by its CTF token id (decimal, up to 78 digits) or its condition id.
_TOKEN_ID = re.compile(r"^[0-9]{1,78}$")
_CONDITION_ID = re.compile(r"^0x[0-9a-f]{64}$")
MAX_PROPORTIONAL_RATIO = Decimal(10)
MAX_MARKET_LIST = 200


class FollowError(Exception):
    """A follow change was refused; ``problems`` maps a setting name ('' = general) to why."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True, kw_only=True)
class FollowSettings:
    """Everything a follower chooses about one follow (money as Decimal, slippage in bps)."""

    sizing_mode: str = CopyRelationship.SizingMode.FIXED_USDC
    sizing_value: Decimal = Decimal(10)
    min_usdc_per_trade: Decimal | None = None
    max_usdc_per_trade: Decimal | None = None
    max_position_usdc_per_market: Decimal | None = None
    daily_cap_usdc: Decimal | None = None
    slippage_bps: int = 300
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    market_allow: list[str] = field(default_factory=list)
    market_deny: list[str] = field(default_factory=list)
    copy_sells: bool = True
    order_type: str = CopyRelationship.OrderType.FAK
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None

    @classmethod
    def of(cls, relationship: CopyRelationship) -> FollowSettings:
        return cls(**{name: getattr(relationship, name) for name in SETTING_FIELDS})

    def values(self) -> dict[str, Any]:
        return asdict(self)


SETTING_FIELDS = tuple(FollowSettings.__dataclass_fields__)


def parse_market_list(text: str) -> list[str]:
    """Token or condition ids separated by commas, spaces or new lines; condition ids lower-cased."""
    items = [item.strip() for item in re.split(r"[\s,]+", text) if item.strip()]
    return list(dict.fromkeys(item.lower() if item.lower().startswith("0x") else item for item in items))


# One wording for every range, on the follower form, the staff admin and the services alike.
TO = "\u2013"  # an en dash: "0-50 %" reads as minus fifty
RANGE_MESSAGES = {
    "ratio": f"Ratio must be 0{TO}{MAX_PROPORTIONAL_RATIO} (more than 0).",
    "amount": "Amount must be more than $0.",
    "money": "Must be more than $0, or empty for no limit.",
    "slippage": f"Slippage must be 0{TO}50 %.",
    "price": f"Price must be 0{TO}1 (more than 0, less than 1).",
    "stop_loss": f"Stop-loss must be 0{TO}100 % (more than 0, less than 100), or empty.",
    "take_profit": f"Take-profit must be 0{TO}10,000 % (more than 0), or empty.",
}


def follow_settings_problems(settings: FollowSettings) -> dict[str, str]:
    """Why these settings cannot be saved, per setting name; empty when they can."""
    problems: dict[str, str] = {}
    proportional = settings.sizing_mode == CopyRelationship.SizingMode.PROPORTIONAL
    if settings.sizing_mode not in CopyRelationship.SizingMode.values:
        problems["sizing_mode"] = "Choose fixed pUSD or proportional sizing."
    elif proportional and not 0 < settings.sizing_value <= MAX_PROPORTIONAL_RATIO:
        problems["sizing_value"] = RANGE_MESSAGES["ratio"]
    elif settings.sizing_value <= 0:
        problems["sizing_value"] = RANGE_MESSAGES["amount"]
    for name in ("min_usdc_per_trade", "max_usdc_per_trade", "max_position_usdc_per_market", "daily_cap_usdc"):
        value = getattr(settings, name)
        if value is not None and value <= 0:
            problems[name] = RANGE_MESSAGES["money"]
    low, high = settings.min_usdc_per_trade, settings.max_usdc_per_trade
    if low is not None and high is not None and low > high and "max_usdc_per_trade" not in problems:
        problems["max_usdc_per_trade"] = "Must be at least the minimum per trade."
    if not 0 <= settings.slippage_bps <= 5000:
        problems["slippage_bps"] = RANGE_MESSAGES["slippage"]
    problems.update(_price_band_problems(settings.price_min, settings.price_max))
    problems.update(_market_list_problems(settings))
    if settings.order_type not in CopyRelationship.OrderType.values:
        problems["order_type"] = "Choose fill-and-kill or fill-or-kill."
    if settings.stop_loss_pct is not None and not 0 < settings.stop_loss_pct < 100:
        problems["stop_loss_pct"] = RANGE_MESSAGES["stop_loss"]
    if settings.take_profit_pct is not None and not 0 < settings.take_profit_pct <= 10000:
        problems["take_profit_pct"] = RANGE_MESSAGES["take_profit"]
    return problems


def _price_band_problems(low: Decimal | None, high: Decimal | None) -> dict[str, str]:
    problems = {}
    for name, value in (("price_min", low), ("price_max", high)):
        if value is not None and not 0 < value < 1:
            problems[name] = RANGE_MESSAGES["price"]
    if low is not None and high is not None and low >= high and not problems:
        problems["price_max"] = "Must be above the lowest price."
    return problems


def _market_list_problems(settings: FollowSettings) -> dict[str, str]:
    problems = {}
    for name in ("market_allow", "market_deny"):
        items: list[str] = getattr(settings, name)
        bad = [item for item in items if not (_TOKEN_ID.match(item) or _CONDITION_ID.match(item))]
        if bad:
            problems[name] = f"Not a token id or 0x condition id: {', '.join(bad[:3])}."
        elif len(items) > MAX_MARKET_LIST:
            problems[name] = f"At most {MAX_MARKET_LIST} markets."
    overlap = set(settings.market_allow) & set(settings.market_deny)
    if overlap and not problems:
        problems["market_deny"] = f"Listed as both allowed and denied: {', '.join(sorted(overlap)[:3])}."
    return problems


def _require_valid(settings: FollowSettings) -> None:
    problems = follow_settings_problems(settings)
    if problems:
        raise FollowError(problems)


def follow_create(
    *, account: TradingAccount, leader_address: str, settings: FollowSettings, actor: Actor
) -> CopyRelationship:
    """Start copying a leader (creating its WatchedWallet on first follow), or restart a follow its
    owner stopped (never one staff stopped: only staff lift a hold).

    The new follow is served by the deployment the account's owner is routed to (see
    copytrading.routing), so a user moved to a dedicated deployment stays there.
    """
    try:
        address = normalize_address(leader_address)
    except InvalidAddress as exc:
        raise FollowError({"leader_address": str(exc)}) from None
    if account.funder_address and address == account.funder_address.lower():
        raise FollowError({"leader_address": "That is this account's own wallet."})
    _require_valid(settings)
    with transaction.atomic():
        # The user's accounts locked: two follows created at once cannot both pass the cap.
        list(TradingAccount.objects.select_for_update().filter(user_id=account.user_id).values_list("id"))
        leader, _ = WatchedWallet.objects.get_or_create(address=address)
        existing = CopyRelationship.objects.select_for_update().filter(account=account, leader=leader).first()
        if existing is not None and existing.staff_hold == CopyRelationship.StaffHold.STOPPED:
            raise FollowError({"leader_address": "Staff stopped this follow; only staff can restart it."})
        if existing is not None and existing.status != CopyRelationship.Status.STOPPED:
            raise FollowError({"leader_address": "This account already follows that leader."})
        _require_room(account)
        relationship = existing or CopyRelationship(account=account, leader=leader, deployment=_routed(account))
        before = snapshot(relationship, ["status", *SETTING_FIELDS]) if existing else {}
        for name, value in settings.values().items():
            setattr(relationship, name, value)
        relationship.status = CopyRelationship.Status.ACTIVE
        relationship.status_reason = "restarted by its owner" if existing else ""
        relationship.status_changed_at = timezone.now()
        relationship.save()
        audit_record(
            actor=actor,
            action="follow.restart" if existing else "follow.create",
            target=relationship,
            before=before,
            after=snapshot(relationship, ["status", *SETTING_FIELDS]) | {"leader": address},
        )
    return relationship


def _require_room(account: TradingAccount) -> None:
    """Staff cap the follows one user may have (GuardrailSettings): every followed leader is
    polled on the Data API budget all users share. Stopped follows do not count."""
    cap = GuardrailSettings.current().max_follows_per_user
    live = CopyRelationship.objects.filter(live_follows(), account__user_id=account.user_id).count()
    if live >= cap:
        leaders = "leader" if cap == 1 else "leaders"
        raise FollowError({"": f"You may follow at most {cap} {leaders} at a time; stop a follow to start another."})


def _routed(account: TradingAccount) -> Deployment | None:
    return (
        Deployment.objects.filter(relationships__account__user_id=account.user_id, is_active=True)
        .order_by("key")
        .first()
    )


def follow_update(
    *, relationship: CopyRelationship, settings: FollowSettings, actor: Actor, reason: str = ""
) -> CopyRelationship:
    """Change a follow's sizing and risk settings; fan-out reads them from the next leader trade on."""
    _require_valid(settings)
    with transaction.atomic():
        row = CopyRelationship.objects.select_for_update().get(pk=relationship.pk)
        changed = [name for name, value in settings.values().items() if getattr(row, name) != value]
        if not changed:
            return row
        before = snapshot(row, changed)
        for name in changed:
            setattr(row, name, getattr(settings, name))
        row.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor, action="follow.update", target=row, reason=reason, before=before, after=snapshot(row, changed)
        )
    return row


class MarketLists(Protocol):
    """A follow's market lists: a CopyRelationship, or FollowSettings (a backtest)."""

    @property
    def market_allow(self) -> list[str]: ...

    @property
    def market_deny(self) -> list[str]: ...


def market_list_reason(follow: MarketLists, *, token_id: str, condition_id: str) -> str | None:
    """Why the follow's market allow/deny lists keep it out of this market (token or condition
    id, case-insensitive), or None. The deny list wins."""
    ids = {token_id, condition_id.lower()} - {""}
    if any(str(item).lower() in ids for item in follow.market_deny):
        return "market_denied"
    if follow.market_allow and not any(str(item).lower() in ids for item in follow.market_allow):
        return "market_not_allowed"
    return None
