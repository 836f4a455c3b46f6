"""What goes wrong, and when: the soak's schedule of process kills, Redis and PostgreSQL restarts and
venue faults, drawn from a seeded random generator before the run starts (a run can be replayed).

- Kills: a worker pool or the scheduler, SIGKILLed every 5-20 s (uniform).
- Redis: restarted twice, at 30 % and 75 % of the chaos phase; the first time it comes back with
  its append-only file (at most a second of writes lost), the second time empty (every queued,
  delayed and in-flight message gone, the scheduler's lock, the rate limits and the breaker's
  counts too).
- PostgreSQL: one immediate shutdown (every connection cut, no checkpoint, WAL replayed at start)
  at 50 %.
- Venue faults, through the simulator's fault API (docs/simulator.md "Faults"), one window at a
  time with quiet gaps between: answers lost after the commit, delays past the workers' read
  timeout (after and before handling), 5xx after and before handling, 429 and 425 refusals, and
  cancel-only.
"""

from __future__ import annotations

import json
import random
import urllib.request
from dataclasses import dataclass, field
from typing import Any

KILL_GAP = (5.0, 20.0)
REDIS_AT = ((0.30, False), (0.75, True))  # (share of the chaos phase, wipe its data)
POSTGRES_AT = 0.50
# Fault windows and the quiet gaps between them; a short run gets shorter ones so that every
# kind of fault comes up at least once.
FAULT_LENGTH = (8.0, 15.0)
FAULT_GAP = (3.0, 8.0)
SHORT_RUN = 300.0
SHORT_FAULT_LENGTH = (5.0, 9.0)
SHORT_FAULT_GAP = (2.0, 4.0)
WARM_UP = 10.0  # seconds of clean traffic before the first fault or kill


@dataclass(frozen=True)
class FaultKind:
    name: str
    kind: str
    endpoint: str
    probability: float
    options: dict[str, Any] = field(default_factory=dict)


def fault_kinds(read_timeout_s: float) -> list[FaultKind]:
    """Every fault the issue names; delays are 2 s past the workers' read timeout."""
    late_ms = int((read_timeout_s + 2) * 1000)
    return [
        FaultKind("answer lost after commit", "drop", "POST /order", 0.3),
        FaultKind("answer delayed past the read timeout", "delay_after", "POST /order", 0.25, {"delay_ms": late_ms}),
        FaultKind("request delayed past the read timeout", "delay", "POST /order", 0.25, {"delay_ms": late_ms}),
        FaultKind("5xx after commit", "error_after", "POST /order", 0.3, {"status": 502}),
        FaultKind("5xx before handling, every endpoint", "error_before", "*", 0.15, {"status": 500}),
        FaultKind("429 on every endpoint", "rate_limit", "*", 0.3, {"retry_after_s": 1}),
        FaultKind("425 engine restarting", "too_early", "POST /order", 0.3, {"retry_after_s": 1}),
        FaultKind("cancel-only", "cancel_only", "POST /order", 1.0),
    ]


@dataclass(frozen=True)
class Event:
    at: float  # seconds from the start of the chaos phase
    what: str  # kill | redis | postgres | fault_on | fault_off
    wipe: bool = False
    fault: FaultKind | None = None


def schedule(*, seconds: float, rng: random.Random, read_timeout_s: float, min_kills: int) -> list[Event]:
    """Every event of the chaos phase in time order. Kill gaps are drawn again until at least
    ``min_kills`` fit (each gap stays within 5-20 s)."""
    events: list[Event] = []
    for _ in range(1000):
        kills, at = [], WARM_UP
        while True:
            at += rng.uniform(*KILL_GAP)
            if at >= seconds:
                break
            kills.append(Event(at=at, what="kill"))
        if len(kills) >= min_kills:
            break
    events += kills
    events += [Event(at=seconds * share, what="redis", wipe=wipe) for share, wipe in REDIS_AT]
    events.append(Event(at=seconds * POSTGRES_AT, what="postgres"))
    kinds = fault_kinds(read_timeout_s)
    short = seconds <= SHORT_RUN
    at, turn = WARM_UP, 0
    while True:
        length = rng.uniform(*(SHORT_FAULT_LENGTH if short else FAULT_LENGTH))
        if at + length >= seconds:
            break
        kind = kinds[turn % len(kinds)]
        events.append(Event(at=at, what="fault_on", fault=kind))
        events.append(Event(at=at + length, what="fault_off", fault=kind))
        at += length + rng.uniform(*(SHORT_FAULT_GAP if short else FAULT_GAP))
        turn += 1
    return sorted(events, key=lambda e: e.at)


class VenueFaults:
    """The simulator's fault API (``/_sim/faults``) over HTTP."""

    def __init__(self, simulator_url: str, *, seed: int) -> None:
        self.url = simulator_url
        self.seed = seed
        self.active: dict[str, int] = {}
        self.windows: dict[str, int] = {}
        self.hits: dict[str, int] = {}

    def _call(self, method: str, path: str, body: object | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def on(self, fault: FaultKind) -> None:
        body = {"kind": fault.kind, "endpoint": fault.endpoint, "count": None, "probability": fault.probability}
        (created,) = self._call("POST", "/_sim/faults", {**body, **fault.options})
        self.active[fault.name] = int(created["fault_id"])
        self.windows[fault.name] = self.windows.get(fault.name, 0) + 1

    def off(self, name: str) -> None:
        """Remove the fault, keeping how many requests it hit."""
        fault_id = self.active.pop(name, None)
        if fault_id is None:
            return
        hits = sum(int(f["hits"]) for f in self._call("GET", "/_sim/faults") if int(f["fault_id"]) == fault_id)
        self.hits[name] = self.hits.get(name, 0) + hits
        self._call("DELETE", f"/_sim/faults/{fault_id}")

    def clear(self) -> None:
        for name in list(self.active):
            self.off(name)
        self._call("DELETE", "/_sim/faults")
        self._call("POST", "/_sim/mode", {"mode": "normal"})
        self.active.clear()
