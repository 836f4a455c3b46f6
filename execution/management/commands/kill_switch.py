from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from execution.models import TradingSwitch
from execution.switches import SwitchError, switch_set, switch_state


class Command(BaseCommand):
    help = "Engage or release the kill switch (no new orders at all). Releasing needs a named staff user."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("state", choices=["on", "off", "status"])
        parser.add_argument("--reason", default="", help="Why (required to change it; stored in the audit log).")
        parser.add_argument("--user", default="", help="Staff username acting (required to turn it off).")

    def handle(self, *args: Any, **options: Any) -> str:
        name = TradingSwitch.Name.KILL_SWITCH
        if options["state"] != "status":
            actor: Any = f"command:kill_switch ({options['user'] or 'operator'})"
            if options["user"]:
                actor = get_user_model().objects.filter(username=options["user"]).first()
                if actor is None:
                    raise CommandError(f"no user {options['user']!r}")
            try:
                switch_set(name=name, engaged=options["state"] == "on", actor=actor, reason=options["reason"])
            except SwitchError as exc:
                raise CommandError(str(exc)) from None
        state = switch_state(name)
        since = (
            f" since {state.changed_at:%Y-%m-%d %H:%M:%S} by {state.changed_by} ({state.reason})"
            if state.changed_at
            else ""
        )
        return f"kill switch is {'ON' if state.engaged else 'off'}{since}"
