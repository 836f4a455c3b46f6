"""The looping ops commands (reconcile, settle, recover_debts) share one loop: a pass, then the
summary with --once; a SIGTERM ends the loop between passes."""

from __future__ import annotations

import signal
import threading
from io import StringIO

import pytest
from django.core.management import call_command

from copytrading.management.commands.reconcile import Command as Reconcile
from copytrading.models import Deployment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("command", "summary"),
    [
        ("reconcile", f"reconciled 0 row(s) for deployment {Deployment.SHARED_KEY}"),
        ("settle", "copy: nothing due"),
        ("recover_debts", "debt: nothing due"),
    ],
)
def test_one_pass_with_nothing_due_says_so(command: str, summary: str) -> None:
    out = StringIO()
    call_command(command, "--once", stdout=out)
    assert out.getvalue().strip() == summary


def test_a_sigterm_ends_the_loop_after_the_pass_in_progress() -> None:
    command = Reconcile(stdout=StringIO())
    passes = []
    original = command.one_pass

    def counted() -> None:
        passes.append(1)
        original()
        if len(passes) == 2:
            signal.raise_signal(signal.SIGTERM)

    command.one_pass = counted  # type: ignore[method-assign]
    assert threading.current_thread() is threading.main_thread()  # signal handlers live there
    previous = signal.getsignal(signal.SIGTERM)
    try:
        result = command.handle(once=False, interval=0.01)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert len(passes) == 2
    assert result == f"reconciled 0 row(s) for deployment {Deployment.SHARED_KEY}"
