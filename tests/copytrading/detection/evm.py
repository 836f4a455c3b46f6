"""Vyper stand-ins of the Polymarket exchanges on the local chain's anvil node.

The stand-ins emit the real event layouts for any fill a test invents (no funds move), so their
logs carry the real topic0 values and the detector reads them over the node's HTTP JSON-RPC
exactly as it reads Polygon. Amounts are in 6-decimal base units. The Polymarket-shaped
contracts that really move pUSD and shares are execution/simulator/chain/contracts/.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, cast

import vyper
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.types import RPCEndpoint, RPCResponse

from execution.simulator.chain.local import LocalChain

CONTRACTS = Path(__file__).resolve().parent / "contracts"
U = 10**6


@cache
def compiled(name: str) -> tuple[list[dict[str, Any]], str]:
    out = vyper.compile_code((CONTRACTS / f"{name}.vy").read_text(), output_formats=["abi", "bytecode"])
    return out["abi"], out["bytecode"]


def order_hash() -> bytes:
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class V2Fill:
    """One order's fill as the V2 exchange reports it, from that order owner's point of view."""

    maker: str
    side: str
    token_id: int
    shares: Decimal
    usdc: Decimal
    fee: int = 0

    def struct(self) -> tuple[Any, ...]:
        shares, usdc = int(self.shares * U), int(self.usdc * U)
        making, taking = (usdc, shares) if self.side == "BUY" else (shares, usdc)
        side = 0 if self.side == "BUY" else 1
        return (order_hash(), to_checksum_address(self.maker), side, self.token_id, making, taking, self.fee)


@dataclass(frozen=True)
class V1Fill:
    maker: str
    side: str
    token_id: int
    shares: Decimal
    usdc: Decimal

    def struct(self) -> tuple[Any, ...]:
        shares, usdc = int(self.shares * U), int(self.usdc * U)
        if self.side == "BUY":
            return (order_hash(), to_checksum_address(self.maker), 0, self.token_id, usdc, shares, 0)
        return (order_hash(), to_checksum_address(self.maker), self.token_id, 0, shares, usdc, 0)


class FlakyProvider(HTTPProvider):
    """The node's HTTP JSON-RPC, going away after ``fail_after_get_logs`` eth_getLogs calls."""

    fail_after_get_logs: int | None = None
    get_logs_calls = 0

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method == "eth_getLogs":
            self.get_logs_calls += 1
            if self.fail_after_get_logs is not None and self.get_logs_calls > self.fail_after_get_logs:
                raise ConnectionError("node went away")
        return super().make_request(method, params)


class Evm:
    """The stand-in exchanges deployed on the session's anvil node (reverted after each test)."""

    def __init__(self, chain: LocalChain) -> None:
        self.chain = chain
        self.rpc_url = chain.info.rpc_url
        self.provider = FlakyProvider(self.rpc_url, request_kwargs={"timeout": 30, "proxies": {}})
        self.w3 = Web3(self.provider)
        self.operator = self.w3.eth.accounts[0]
        self.v1 = self.deploy("ExchangeV1")
        self.v2 = self.deploy("ExchangeV2")
        self.v2_negrisk = self.deploy("ExchangeV2")
        # Same code, address not configured: its fills must never be read.
        self.unlisted = self.deploy("ExchangeV2")

    @property
    def exchanges(self) -> list[str]:
        return [c.address.lower() for c in (self.v1, self.v2, self.v2_negrisk)]

    def deploy(self, name: str) -> Contract:
        abi, bytecode = compiled(name)
        tx = self.w3.eth.contract(abi=abi, bytecode=bytecode).constructor().transact({"from": self.operator})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.01)
        return cast(Contract, self.w3.eth.contract(address=receipt["contractAddress"], abi=abi))

    def match_v2(self, taker: V2Fill, makers: Sequence[V2Fill] = (), *, exchange: Contract | None = None) -> str:
        contract = exchange or self.v2
        tx = contract.functions.matchOrders(taker.struct(), [m.struct() for m in makers]).transact(
            {"from": self.operator}
        )
        return self._mined(tx)

    def match_v1(self, taker: V1Fill, makers: Sequence[V1Fill] = ()) -> str:
        tx = self.v1.functions.matchOrders(taker.struct(), [m.struct() for m in makers]).transact(
            {"from": self.operator}
        )
        return self._mined(tx)

    def transfer(self, sender: str, receiver: str, token_id: int, amount: int) -> str:
        tx = self.v2.functions.transfer(
            to_checksum_address(sender), to_checksum_address(receiver), token_id, amount
        ).transact({"from": self.operator})
        return self._mined(tx)

    def _mined(self, tx: HexBytes) -> str:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.01)
        assert receipt["status"] == 1
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def block_number(self) -> int:
        return self.w3.eth.block_number

    def mine(self, blocks: int = 1) -> None:
        self.chain.node.rpc("anvil_mine", [hex(blocks)])

    def snapshot(self) -> Any:
        return self.chain.node.rpc("evm_snapshot")

    def revert(self, snapshot: Any) -> None:
        """Back to the snapshot's block: whatever is mined next is a competing branch (a reorg)."""
        assert self.chain.node.rpc("evm_revert", [snapshot]) is True
