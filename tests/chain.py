"""The local chain for tests: one anvil node per test session, a snapshot reverted after each test.

    def test_something(chain: LocalChain) -> None:
        chain.info.rpc_url, chain.info.contracts["exchange"], chain.fund(address, pusd="100")

No skip when anvil is missing: the session's first chain test errors with the install hint.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from execution.simulator.chain.local import LocalChain


@pytest.fixture(scope="session")
def local_chain() -> Iterator[LocalChain]:
    with LocalChain() as running:
        yield running


@pytest.fixture
def chain(local_chain: LocalChain) -> Iterator[LocalChain]:
    """The session's node, put back after the test as it was before (evm_snapshot / evm_revert)."""
    info = local_chain.info
    snapshot = local_chain.node.rpc("evm_snapshot")
    yield local_chain
    assert local_chain.node.rpc("evm_revert", [snapshot]) is True
    local_chain._info = info
