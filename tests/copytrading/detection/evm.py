"""A real local EVM (eth-tester + py-evm) with vyper stand-ins of the Polymarket exchanges.

The contracts emit the real event layouts, so their logs carry the real topic0 values and the
detector reads them exactly as it reads Polygon. Amounts are in 6-decimal base units.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, cast

import vyper
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.types import RPCEndpoint, RPCResponse

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


class FlakyTesterProvider(EthereumTesterProvider):
    """An RPC node that goes away after ``fail_after_get_logs`` eth_getLogs calls.

    py-evm is not thread-safe; ``lock`` serialises the detector threads' reads with the test's
    mining, as a real node's single chain would.
    """

    fail_after_get_logs: int | None = None
    get_logs_calls = 0
    lock = threading.RLock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method == "eth_getLogs":
            self.get_logs_calls += 1
            if self.fail_after_get_logs is not None and self.get_logs_calls > self.fail_after_get_logs:
                raise ConnectionError("node went away")
        with self.lock:
            return super().make_request(method, params)


class Evm:
    def __init__(self) -> None:
        self.provider = FlakyTesterProvider()
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
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
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
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt["status"] == 1
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def block_number(self) -> int:
        return self.w3.eth.block_number

    @property
    def tester(self) -> Any:
        return self.provider.ethereum_tester

    def mine(self, blocks: int = 1) -> None:
        with self.provider.lock:
            self.tester.mine_blocks(blocks)

    def snapshot(self) -> Any:
        with self.provider.lock:
            return self.tester.take_snapshot()

    def revert(self, snapshot: Any) -> None:
        """Back to the snapshot's block: whatever is mined next is a competing branch (a reorg)."""
        with self.provider.lock:
            self.tester.revert_to_snapshot(snapshot)
