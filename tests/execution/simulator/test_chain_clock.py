"""The test chain's clock after a revert. Found when the whole suite ran: every chain test after the
first few minutes saw its fills detected as stale, because anvil's evm_revert turns the node's clock
back to the snapshot's head block (the deployment's, for the whole session)."""

from __future__ import annotations

import time

from execution.simulator.chain.local import LocalChain
from tests.chain import chain_restore


def test_blocks_after_a_revert_carry_the_wall_clock_time(chain: LocalChain) -> None:
    assert chain.w3 is not None
    head = chain.w3.eth.get_block("latest")["timestamp"]
    chain.node.rpc("evm_setTime", [head - 600])  # a clock far behind, as an earlier revert left it
    snapshot = chain.node.rpc("evm_snapshot")
    chain.node.rpc("evm_mine")
    chain_restore(chain, snapshot)
    chain.node.rpc("evm_mine")
    assert abs(chain.w3.eth.get_block("latest")["timestamp"] - time.time()) < 30
