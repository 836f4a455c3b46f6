"""Trading accounts opened by their owners (custody changes live in execution.custody)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import TradingAccount, User
from polyhunter.audit import Actor, audit_record, snapshot


class AccountError(Exception):
    pass


def account_create(*, user: User, label: str, actor: Actor) -> TradingAccount:
    """Open a paper account (no keys): every account starts simulated until its owner sets custody."""
    label = label.strip()
    if not label:
        raise AccountError("Give the account a name.")
    try:
        with transaction.atomic():
            account = TradingAccount.objects.create(user=user, label=label, mode=TradingAccount.Mode.PAPER)
            audit_record(
                actor=actor, action="account.create", target=account, after=snapshot(account, ["label", "mode"])
            )
    except IntegrityError:
        raise AccountError(f"You already have an account named {label!r}.") from None
    return account
