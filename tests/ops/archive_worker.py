"""``python -m tests.ops.archive_worker --stop-in-batch N <archive options>``: the archive service in
its own process, stopping itself (SIGSTOP) inside the N-th batch's transaction, rows locked and
nothing of that batch written yet, after saying ``STOPPED <n>`` on stdout. A test then SIGKILLs
it there. Nothing is faked: the service runs unchanged up to that point.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--older-than", required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--stop-in-batch", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = "polyhunter.settings"
    import django

    django.setup()
    from copytrading import archive

    original = archive._copy_archives
    calls: list[int] = []

    def stopping(rows: list[Any]) -> Any:
        calls.append(1)
        if len(calls) == args.stop_in_batch:
            print(f"STOPPED {len(calls)}", flush=True)
            os.kill(os.getpid(), signal.SIGSTOP)
        return original(rows)

    archive._copy_archives = stopping
    archive.archive_run(older_than=archive.parse_age(args.older_than), batch_size=args.batch_size)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
