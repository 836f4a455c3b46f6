"""What the soak's secret scan (I5) reads besides the pages: every log line the platform's processes
wrote, and the Redis payloads the workers read — sampled every two seconds while the run goes
on (a message lives in Redis for milliseconds to seconds), each distinct payload kept once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import redis

CHUNK = 8 * 1024 * 1024
OVERLAP = 512  # a secret cut by a chunk boundary is whole in the next chunk


class RedisSampler(threading.Thread):
    """Copies every Dramatiq payload it sees (queued, delayed, in flight or dead-lettered) to a file,
    and the queue lengths for the progress line."""

    def __init__(self, url: str, out: Path, *, namespace: str = "dramatiq", every: float = 2.0) -> None:
        super().__init__(name="soak-redis-sampler", daemon=True)
        self.url = url
        self.out = out
        self.namespace = namespace
        self.every = every
        self.stopping = threading.Event()
        self.seen: set[bytes] = set()
        self.samples = 0
        self.failures = 0
        self.queues: dict[str, int] = {}

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            self.sample()

    def sample(self) -> None:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=10)
        try:
            lengths: dict[str, int] = {}
            with self.out.open("ab") as handle:
                self._copy(client, handle, lengths)
            self.queues = lengths
            self.samples += 1
        except redis.RedisError:
            self.failures += 1  # Redis is restarting: the next sample will do
        finally:
            client.close()

    def _copy(self, client: redis.Redis, handle: BinaryIO, lengths: dict[str, int]) -> None:
        for key in client.scan_iter(match=f"{self.namespace}:*", count=500):
            kind = client.type(key)
            name = key.decode(errors="replace").removeprefix(f"{self.namespace}:")
            if kind == b"hash":
                for value in client.hvals(key):
                    body = value if isinstance(value, bytes) else value.encode()
                    digest = hashlib.sha1(body).digest()  # noqa: S324  (dedupe only)
                    if digest not in self.seen:
                        self.seen.add(digest)
                        handle.write(body + b"\n")
            elif kind == b"list" and not name.startswith("__"):
                lengths[name] = int(client.llen(key))


def chunks(path: Path) -> Iterator[str]:
    """A text file in overlapping chunks (logs can be large)."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        tail = b""
        while True:
            block = handle.read(CHUNK)
            if not block:
                return
            data = tail + block
            yield data.decode(errors="replace")
            tail = data[-OVERLAP:]
