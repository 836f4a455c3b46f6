"""A real worker process for the reliability scenarios: ``python -m tests.copytrading.reliability.worker``.

It runs the same services the Dramatiq actors call (``copytrades_execute``, ``copytrades_reconcile``)
on the test's database and venue (both from its environment), as its own OS process, so that
a test can SIGKILL, SIGSTOP or SIGCONT it, or cut its database session, at a known point.

Besides execute and reconcile it can run the two steps that end with a message for the broker:
``fanout <leader trade id>`` (rows committed, then their execute messages) and ``record <leader
id>`` (a BUY of the test market by that leader through the record service, then its fan-out
message), both with the broker of its environment (``REDIS_URL``), and ``settle <copy id>`` (one
fleet settlement, ``fleet_settle``, on the chain of its environment).

Known points are announced on stdout, one line each (``READY``, ``BEFORE_SIGN <id>``,
``BEFORE_POST <hash>``, ``BEFORE_ENQUEUE <queue>``, ``DONE <n>``). ``--stop-before
sign|post|enqueue`` makes the process stop *itself* (SIGSTOP) right after announcing that point
(``--stop-after-send push|reimburse``: right after a settlement transaction of that purpose was
recorded and broadcast, before the copy's state is, announced as ``AFTER_SEND <tx hash>``),
which is how a test freezes it exactly between two steps: after the signed order was committed
and before its POST, or after a commit and before the message that should follow it. Nothing is
faked: the functions it wraps run unchanged once the process continues.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from decimal import Decimal
from typing import Any


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["execute", "reconcile", "fanout", "record", "settle"])
    parser.add_argument("ids", help="comma-separated CopyTrade ids (fanout: a LeaderTrade id; record: a leader id)")
    parser.add_argument("--lease-seconds", type=int, default=None)
    parser.add_argument("--stop-before", choices=["sign", "post", "enqueue"], default=None)
    parser.add_argument("--stop-after-send", choices=["push", "reimburse"], default=None)
    parser.add_argument("--wait-for-go", action="store_true", help="read one line from stdin before starting")
    parser.add_argument("--sqlite-busy-ms", type=int, default=None)
    args = parser.parse_args(argv)

    os.environ["DJANGO_SETTINGS_MODULE"] = "polyhunter.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if args.lease_seconds is not None:
        settings.COPY_LEASE_SECONDS = args.lease_seconds
    if args.stop_before is not None:
        _install_stop(args.stop_before)
    if args.stop_after_send is not None:
        _install_stop_after_send(args.stop_after_send)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_backend_pid()")
            _say(f"BACKEND {cursor.fetchone()[0]}")
        elif args.sqlite_busy_ms is not None:
            cursor.execute(f"PRAGMA busy_timeout={int(args.sqlite_busy_ms)}")
    ids = [int(part) for part in args.ids.split(",") if part]
    _say("READY")
    if args.wait_for_go:
        sys.stdin.readline()
    if args.command == "execute":
        from copytrading.deployments import deployment_current
        from copytrading.pipeline.execute import copytrades_execute

        sent = copytrades_execute(ids=ids, deployment=deployment_current())
    elif args.command == "fanout":
        from copytrading.deployments import deployment_current
        from copytrading.fanout import fanout_leader_trade

        sent = len(fanout_leader_trade(leader_trade_id=ids[0], deployment=deployment_current()).pending_ids)
    elif args.command == "record":
        sent = _record(leader_id=ids[0])
    elif args.command == "settle":
        from copytrading.pipeline.fleet_settle import fleet_settle

        sent = sum(fleet_settle(copy_id) == "settled" for copy_id in ids)
    else:
        from copytrading.pipeline.reconcile import copytrades_reconcile

        sent = copytrades_reconcile(ids=ids)
    _say(f"DONE {sent}")
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


def _record(*, leader_id: int) -> int:
    """A fresh BUY of the test market by this leader, through the record service."""
    import secrets

    from django.utils import timezone

    from copytrading.detection.record import TradeObservation, leader_trades_record
    from copytrading.models import LeaderTrade, WatchedWallet
    from tests.factories import TOKEN_YES

    now = timezone.now()
    observation = TradeObservation(
        leader=WatchedWallet.objects.get(id=leader_id).address,
        tx_hash="0x" + secrets.token_hex(32),
        token_id=TOKEN_YES,
        side="BUY",
        shares=Decimal(100),
        usdc=Decimal(56),
        occurred_at=now,
        leg_id="log:0",
    )
    return len(leader_trades_record(observations=[observation], source=LeaderTrade.Source.ONCHAIN, now=now).new_ids)


def _install_stop(point: str) -> None:
    """Wrap the step's function so the process announces the point and stops itself there."""
    from copytrading import fanout
    from copytrading.pipeline import execute, submit

    module: Any = {"sign": execute, "post": submit, "enqueue": fanout}[point]
    name = {"sign": "custody_sign", "post": "order_post", "enqueue": "send_to_queue"}[point]
    original = getattr(module, name)
    stopped: list[bool] = []

    def labelled(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        if point == "post":
            return kwargs["payload"].order_hash
        if point == "sign":
            return kwargs["account"].id
        return args[1]  # send_to_queue(actor, queue_name, *args)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not stopped:
            stopped.append(True)
            _say(f"BEFORE_{point.upper()} {labelled(args, kwargs)}")
            os.kill(os.getpid(), signal.SIGSTOP)
        return original(*args, **kwargs)

    setattr(module, name, wrapper)


def _install_stop_after_send(purpose: str) -> None:
    """Wrap the settlement's ``send_tracked``: once a ``purpose`` transaction is recorded and
    broadcast, announce its hash and stop, before the settlement reads its receipt or records
    anything on the copy."""
    from copytrading.pipeline import fleet_settle

    original = getattr(fleet_settle, "send_tracked")  # noqa: B009  (imported there, not exported)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        row = original(*args, **kwargs)
        if kwargs["purpose"] == purpose:
            _say(f"AFTER_SEND {row.tx_hash}")
            os.kill(os.getpid(), signal.SIGSTOP)
        return row

    setattr(fleet_settle, "send_tracked", wrapper)  # noqa: B010


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
