"""The test chain's fee market after a revert: anvil's evm_revert restores the blocks but not the
base fee it prices the next block at."""

from __future__ import annotations

from execution.simulator.chain.local import LocalChain
from tests.chain import chain_restore


def test_a_revert_after_a_fee_spike_prices_the_next_block_as_the_snapshot_did(chain: LocalChain) -> None:
    node = chain.node
    before = int(node.rpc("eth_gasPrice"), 16)
    snapshot = node.rpc("evm_snapshot")
    for _ in range(3):
        node.rpc("anvil_setNextBlockBaseFeePerGas", [hex(10**12)])
        node.rpc("evm_mine")
    assert int(node.rpc("eth_gasPrice"), 16) > 100 * before  # the spike

    chain_restore(chain, snapshot)

    # Priced from the head block again (the next block's exact fee also depends on the head's gas):
    # a transaction paying twice the head's base fee, as web3 prices one, is mined at once.
    assert before / 2 < int(node.rpc("eth_gasPrice"), 16) < 2 * before
    head_fee = int(node.rpc("eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
    accounts = node.rpc("eth_accounts")
    sent = node.rpc(
        "eth_sendTransaction",
        [
            {
                "from": accounts[0],
                "to": accounts[1],
                "value": "0x1",
                "gas": hex(21_000),
                "maxFeePerGas": hex(2 * head_fee),
                "maxPriorityFeePerGas": "0x1",
            }
        ],
    )
    receipt = node.rpc("eth_getTransactionReceipt", [sent])  # automine: mined before the call returned
    assert receipt is not None
    assert receipt["status"] == "0x1"
