"""The reliability suite's recording proxy (tests/copytrading/reliability/venue_proxy.py) as a process
of its own, in front of the soak's simulator: every order POST the venue receives is appended to
a JSON-lines file (time, the signatures it carries, whether it was forwarded) instead of being
kept in memory, so a 20-minute run's hundred thousand POSTs cost nothing but disk.

    python -m soak.proxy --upstream http://127.0.0.1:PORT --log var/soak/order-posts.jsonl
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TextIO

from tests.copytrading.reliability.venue_proxy import OrderPost, VenueProxy


def signatures(body: str) -> list[str]:
    """The signatures of the orders in a POST /order or /orders body ([] if unreadable)."""
    try:
        decoded = json.loads(body)
        items = decoded if isinstance(decoded, list) else [decoded]
        return [str(item["order"]["signature"]) for item in items]
    except (ValueError, KeyError, TypeError):
        return []


class LoggingProxy(VenueProxy):
    def __init__(self, upstream: str, out: TextIO) -> None:
        super().__init__(upstream)
        self._out = out
        self._write = threading.Lock()

    def _record(self, post: OrderPost) -> None:
        line = json.dumps({"at": post.at, "sigs": signatures(post.body), "forwarded": post.forwarded})
        with self._write:
            self._out.write(line + "\n")
            self._out.flush()


def read_posts(path: Path) -> dict[str, int]:
    """How many order POSTs carrying each signature reached the venue (the I1 check's input)."""
    counts: dict[str, int] = {}
    if not path.exists():
        return counts
    with path.open() as lines:
        for line in lines:
            try:
                post = json.loads(line)
            except ValueError:
                continue  # the last line of a proxy killed mid-write
            for signature in post["sigs"]:
                counts[signature] = counts.get(signature, 0) + 1
    return counts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with args.log.open("a") as out:
        proxy = LoggingProxy(args.upstream, out).start()
        print(f"venue proxy listening on {proxy.url}", flush=True)
        stopping.wait()
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
