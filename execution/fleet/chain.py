"""The chain fleet settlement talks to (POLYGON_RPC_URL, FLEET_* contract addresses), and the
one place operator wallets sign and send transactions.

Each transaction is signed first and its hash and raw bytes handed back to the caller to store
*before* it is broadcast: a worker killed after sending leaves a record the next run reads the
receipt of (or re-broadcasts, same bytes, same nonce), never a second transaction. The settlement
contract's per-copy record makes a reimbursement exactly once even then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError

from execution.fleet.keys import operator_account
from execution.fleet.onchain import ContractCall

TIP_WEI = 30 * 10**9  # Polygon's usual minimum priority fee (30 gwei)
RPC_TIMEOUT_S = 10
# How nodes say a raw transaction is already theirs (pending or mined): not an error on a re-send.
_ALREADY_SENT = ("already known", "nonce too low", "already imported", "transaction already exists")


class FleetChainNotConfigured(Exception):
    """FLEET_SETTLEMENT_ADDRESS or POLYGON_RPC_URL is not set."""


@dataclass(frozen=True)
class FleetChain:
    w3: Web3
    settlement: str
    pusd: str
    ctf: str


def fleet_chain() -> FleetChain:
    if not (settings.FLEET_SETTLEMENT_ADDRESS and settings.POLYGON_RPC_URL):
        raise FleetChainNotConfigured("fleet settlement needs FLEET_SETTLEMENT_ADDRESS and POLYGON_RPC_URL")
    return FleetChain(
        w3=_web3(settings.POLYGON_RPC_URL),
        settlement=to_checksum_address(settings.FLEET_SETTLEMENT_ADDRESS),
        pusd=to_checksum_address(settings.FLEET_PUSD_ADDRESS),
        ctf=to_checksum_address(settings.FLEET_CTF_ADDRESS),
    )


@lru_cache(maxsize=4)
def _web3(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": RPC_TIMEOUT_S}))


@dataclass(frozen=True)
class SignedTx:
    tx_hash: str
    raw: str
    nonce: int

    def as_record(self) -> dict[str, object]:
        return {"hash": self.tx_hash, "raw": self.raw, "nonce": self.nonce}


@sensitive_variables("signer")
def sign_call(*, w3: Web3, index: int, call: ContractCall, nonce: int) -> SignedTx:
    """Sign ``call`` from operator wallet ``index`` at ``nonce`` (EIP-1559: twice the base fee plus the tip)."""
    signer = operator_account(index)
    base = int(w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
    tx: dict[str, Any] = {
        "chainId": int(w3.eth.chain_id),
        "nonce": nonce,
        "to": to_checksum_address(call.to),
        "data": HexBytes(call.data),
        "value": call.value,
        "gas": call.gas,
        "maxPriorityFeePerGas": TIP_WEI,
        "maxFeePerGas": 2 * base + TIP_WEI,
        "type": 2,
    }
    signed = signer.sign_transaction(tx)
    return SignedTx(
        tx_hash="0x" + bytes(signed.hash).hex(), raw="0x" + bytes(signed.raw_transaction).hex(), nonce=nonce
    )


def next_nonce(*, w3: Web3, address: str) -> int:
    """The wallet's next nonce (pending included); called only under the wallet's lease."""
    return int(w3.eth.get_transaction_count(to_checksum_address(address), "pending"))


def broadcast(*, w3: Web3, raw: str) -> None:
    """Send stored bytes; a node that already has them (or mined them) is not an error."""
    try:
        w3.eth.send_raw_transaction(HexBytes(raw))
    except (ValueError, Web3RPCError) as exc:
        text = str(exc).lower()
        if not any(known in text for known in _ALREADY_SENT):
            raise


def mined_status(*, w3: Web3, tx_hash: str) -> int | None:
    """1 (succeeded) or 0 (reverted) once mined; None while not mined (or unknown to the node)."""
    try:
        receipt = w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    except TransactionNotFound:
        return None
    return int(receipt["status"])


def wait_mined(*, w3: Web3, tx_hash: str, timeout_s: float = 30.0) -> int | None:
    deadline = time.monotonic() + timeout_s
    while True:
        status = mined_status(w3=w3, tx_hash=tx_hash)
        if status is not None or time.monotonic() >= deadline:
            return status
        time.sleep(0.05)
