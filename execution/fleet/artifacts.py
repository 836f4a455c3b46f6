"""The fleet settlement contract: vyper source in contracts/, compiled ABI and bytecode in artifacts.json.

Checked in so no process but the tests needs the compiler; tests/execution/fleet/test_contract.py
compiles the source again and fails when the file differs. To rebuild after editing the contract:

    .venv/bin/python -m execution.fleet.artifacts
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SOURCES = Path(__file__).resolve().parent / "contracts"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts.json"
CONTRACT_NAMES = ("FleetSettlement",)


def compile_artifacts() -> dict[str, Any]:
    from execution.simulator.chain.artifacts import compile_artifacts as compile_sources

    return compile_sources(sources=SOURCES, names=CONTRACT_NAMES)


@cache
def settlement_abi() -> list[dict[str, Any]]:
    return list(json.loads(ARTIFACTS.read_text())["contracts"]["FleetSettlement"]["abi"])


@cache
def settlement_bytecode() -> str:
    return str(json.loads(ARTIFACTS.read_text())["contracts"]["FleetSettlement"]["bytecode"])


if __name__ == "__main__":
    from execution.simulator.chain.artifacts import dumps

    ARTIFACTS.write_text(dumps(compile_artifacts()))
    print(f"wrote {ARTIFACTS}")  # noqa: T201
