"""A real worker process for the reliability scenarios: ``python -m tests.copytrading.reliability.worker``.

It runs the same services the Dramatiq actors call (``copytrades_execute``, ``copytrades_reconcile``)
on the test's database and venue (both from its environment), as its own OS process, so that
a test can SIGKILL, SIGSTOP or SIGCONT it, or cut its database session, at a known point.

Known points are announced on stdout, one line each (``READY``, ``BEFORE_SIGN <id>``,
``BEFORE_POST <hash>``, ``DONE <n>``). ``--stop-before sign|post`` makes the process stop
*itself* (SIGSTOP) right after announcing that point, which is how a test freezes it exactly
between two steps: after the signed order was committed and before its POST, for instance.
Nothing is faked: the functions it wraps run unchanged once the process continues.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["execute", "reconcile"])
    parser.add_argument("ids", help="comma-separated CopyTrade ids")
    parser.add_argument("--lease-seconds", type=int, default=None)
    parser.add_argument("--stop-before", choices=["sign", "post"], default=None)
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
    else:
        from copytrading.pipeline.reconcile import copytrades_reconcile

        sent = copytrades_reconcile(ids=ids)
    _say(f"DONE {sent}")
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


def _install_stop(point: str) -> None:
    """Wrap the step's function so the process announces the point and stops itself there."""
    from copytrading.pipeline import execute, submit

    module: Any = execute if point == "sign" else submit
    name = "custody_sign" if point == "sign" else "order_post"
    original = getattr(module, name)
    stopped: list[bool] = []

    def wrapper(**kwargs: Any) -> Any:
        if not stopped:
            stopped.append(True)
            label = kwargs["payload"].order_hash if point == "post" else kwargs["account"].id
            _say(f"BEFORE_{point.upper()} {label}")
            os.kill(os.getpid(), signal.SIGSTOP)
        return original(**kwargs)

    setattr(module, name, wrapper)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
