"""Shared argument handling of the pause/resume commands."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from accounts.models import TradingAccount
from copytrading.controls import ControlError, account_set_paused, leader_set_paused, relationship_set_hold
from copytrading.models import CopyRelationship, WatchedWallet
from execution.models import TradingSwitch
from execution.switches import SwitchError, switch_set
from polyhunter.audit import Actor
from polyhunter.lib.addresses import InvalidAddress, normalize_address


def add_target_arguments(parser: CommandParser) -> None:
    parser.add_argument("kind", choices=["leader", "follower", "relationship", "copies", "exits-only"])
    parser.add_argument(
        "target",
        nargs="?",
        default="",
        help="leader address, follower username or account "
        "code, relationship id or code; nothing for copies/exits-only",
    )
    parser.add_argument("--reason", required=True, help="Why (stored in the audit log).")
    parser.add_argument("--user", default="", help="Username acting (default: the command itself).")


def apply(options: dict[str, Any], *, paused: bool) -> str:
    actor = _actor(options["user"], verb="pause" if paused else "resume")
    kind, target, reason = options["kind"], options["target"], options["reason"]
    try:
        if kind in ("copies", "exits-only"):
            name = TradingSwitch.Name.PAUSE_COPIES if kind == "copies" else TradingSwitch.Name.EXITS_ONLY
            switch_set(name=name, engaged=paused, actor=actor, reason=reason)
            return f"{name}: {'on' if paused else 'off'}"
        if kind == "leader":
            leader = WatchedWallet.objects.get(address=_address(target))
            leader_set_paused(leader=leader, paused=paused, actor=actor, reason=reason)
            return f"leader {leader.address}: {'paused' if paused else 'resumed'}"
        if kind == "follower":
            accounts = _accounts(target)
            for account in accounts:
                account_set_paused(account=account, paused=paused, actor=actor, reason=reason)
            return f"{len(accounts)} account(s) of {target}: {'paused' if paused else 'resumed'}"
        relationship = _relationship(target)
        hold = CopyRelationship.StaffHold.PAUSED if paused else CopyRelationship.StaffHold.NONE
        relationship_set_hold(relationship=relationship, hold=hold, actor=actor, reason=reason)
        return f"follow {relationship.id}: {'held (paused by staff)' if paused else 'staff hold lifted'}"
    except (ControlError, SwitchError) as exc:
        raise CommandError(str(exc)) from None
    except (WatchedWallet.DoesNotExist, CopyRelationship.DoesNotExist):
        raise CommandError(f"no {kind} {target!r}") from None


def _actor(username: str, *, verb: str) -> Actor:
    if not username:
        return f"command:{verb}"
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user {username!r}")
    return user


def _address(text: str) -> str:
    try:
        return normalize_address(text)
    except InvalidAddress as exc:
        raise CommandError(str(exc)) from None


def _accounts(target: str) -> list[TradingAccount]:
    accounts = list(TradingAccount.objects.filter(user__username=target))
    if not accounts:
        accounts = list(TradingAccount.objects.filter(code=target)) if _is_uuid(target) else []
    if not accounts:
        raise CommandError(f"no follower {target!r} (a username or an account code)")
    return accounts


def _relationship(target: str) -> CopyRelationship:
    if target.isdigit():
        return CopyRelationship.objects.get(id=int(target))
    if _is_uuid(target):
        return CopyRelationship.objects.get(code=target)
    raise CommandError(f"{target!r} is neither a relationship id nor a code")


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
