"""The local chain for tests: one anvil node per test session, a snapshot reverted after each test.

    def test_something(chain: LocalChain) -> None:
        chain.info.rpc_url, chain.info.contracts["exchange"], chain.fund(address, pusd="100")

No skip when anvil is missing: the session's first chain test errors with the install hint.
"""

from __future__ import annotations

import time
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
    chain_restore(local_chain, snapshot)
    local_chain._info = info


def chain_restore(local_chain: LocalChain, snapshot: str) -> None:
    """Revert to ``snapshot`` with the node's clock on the wall clock again: anvil's evm_revert also
    turns its clock back to the snapshot's head block (the deployment's, for the whole session),
    and blocks of later tests carried times minutes in the past (their fills were detected stale).

    And with the base fee of the snapshot's head again: evm_revert does not restore anvil's fee
    market, so after a test that spiked fees (a stuck transaction) the node kept pricing the next
    block at the spike while the reverted head said 1 gwei -- the next test's transactions, priced
    from the head, were refused or sat in the pool."""
    assert local_chain.node.rpc("evm_revert", [snapshot]) is True
    local_chain.node.rpc("evm_setTime", [int(time.time())])
    head = local_chain.node.rpc("eth_getBlockByNumber", ["latest", False])
    local_chain.node.rpc("anvil_setNextBlockBaseFeePerGas", [head["baseFeePerGas"]])
