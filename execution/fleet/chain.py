"""The chain fleet settlement talks to: POLYGON_RPC_URL and the FLEET_* contract addresses, and
how a caller waits for a tracked transaction (execution.fleet.transactions sends them)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound

RPC_TIMEOUT_S = 10


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


def wait_mined(*, w3: Web3, tx_hash: str, timeout_s: float = 30.0) -> int | None:
    """1 (succeeded) or 0 (reverted) once mined; None when not mined within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return int(w3.eth.get_transaction_receipt(HexBytes(tx_hash))["status"])
        except TransactionNotFound:
            if time.monotonic() >= deadline:
                return None
        time.sleep(0.05)
