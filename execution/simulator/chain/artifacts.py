"""The local chain's contracts: vyper sources in contracts/, compiled ABIs and bytecode in artifacts.json.

The artifacts are checked in so the node, the simulator and the demo need no compiler (vyper is
a development dependency); tests/execution/simulator/chain/test_contracts.py compiles the sources
again and fails when the checked-in file differs. To rebuild after editing a contract:

    .venv/bin/python -m execution.simulator.chain.artifacts
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SOURCES = Path(__file__).resolve().parent / "contracts"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts.json"
CONTRACT_NAMES = ("PUSD", "ConditionalTokens", "CTFExchange")


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def compile_artifacts(*, sources: Path = SOURCES, names: tuple[str, ...] = CONTRACT_NAMES) -> dict[str, Any]:
    """Compile every source with the installed vyper (the pinned development dependency).

    Other contract folders (execution/fleet/contracts) are compiled by the same function.
    """
    import vyper

    contracts: dict[str, Any] = {}
    for name in names:
        path = sources / f"{name}.vy"
        source = path.read_text()
        out = vyper.compile_code(source, contract_path=path.name, output_formats=["abi", "bytecode"])
        contracts[name] = {
            "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
            "abi": out["abi"],
            "bytecode": out["bytecode"],
        }
    return {"compiler": f"vyper {vyper.__version__}", "contracts": contracts}


def dumps(artifacts: dict[str, Any]) -> str:
    return json.dumps(artifacts, indent=1, sort_keys=True) + "\n"


@cache
def artifact(name: str) -> Artifact:
    entry = json.loads(ARTIFACTS.read_text())["contracts"][name]
    return Artifact(name=name, abi=entry["abi"], bytecode=entry["bytecode"])


if __name__ == "__main__":
    ARTIFACTS.write_text(dumps(compile_artifacts()))
    print(f"wrote {ARTIFACTS}")  # noqa: T201
