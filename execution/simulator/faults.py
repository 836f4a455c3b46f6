"""Injected faults: which requests they hit, how many times, how often."""

from __future__ import annotations

import dataclasses
import itertools
import random

from .models import Fault

HTTP_KINDS = frozenset(
    {
        "delay",
        "delay_after",
        "drop",
        "error_before",
        "error_after",
        "rate_limit",
        "too_early",
        "cancel_only",
        "trading_disabled",
        "post_only",
    }
)
KINDS = HTTP_KINDS | {"trade_failure"}


def endpoint_matches(spec: str, method: str, route: str, path: str) -> bool:
    if spec == "*":
        return True
    wanted_method, _, wanted_path = spec.partition(" ") if " " in spec else ("*", "", spec)
    if wanted_method not in ("*", method):
        return False
    return wanted_path in ("*", route, path)


class FaultBook:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; expected one of {sorted(KINDS)}")
        if not 0.0 <= fault.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if fault.count is not None and fault.count < 1:
            raise ValueError("count must be at least 1 (or None for until cleared)")
        stored = dataclasses.replace(fault, fault_id=next(self._ids), hits=0)
        self._faults.append(stored)
        return dataclasses.replace(stored)

    def clear(self) -> None:
        self._faults.clear()

    def remove(self, fault_id: int) -> bool:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.fault_id != fault_id]
        return len(self._faults) != before

    def active(self) -> list[Fault]:
        return [dataclasses.replace(f) for f in self._faults]

    def take(self, method: str, route: str, path: str) -> Fault | None:
        """The first armed HTTP fault matching this request, consumed; None if none fires."""
        for fault in self._faults:
            if fault.kind in HTTP_KINDS and endpoint_matches(fault.endpoint, method, route, path) and self._fire(fault):
                return dataclasses.replace(fault)
        return None

    def take_trade_failure(self) -> bool:
        # _fire may drop the fault from the list; any() stops at that very element.
        return any(fault.kind == "trade_failure" and self._fire(fault) for fault in self._faults)

    def _fire(self, fault: Fault) -> bool:
        if fault.probability < 1.0 and self._rng.random() >= fault.probability:
            return False
        fault.hits += 1
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)
        return True
