"""The fleet's chain surface: deploy and administer the settlement contract, read wallets and a
follower's approvals, and build the calls settlement sends (ERC-1155 push, reimburse, pull, proceeds).

Amounts are Decimal pUSD or shares (both 6 decimals on Polygon) converted exactly: a sub-unit
amount is refused, never rounded. Builders return a `ContractCall` (target, calldata, gas limit)
that `execution.fleet.transactions.send_tracked` signs with the operator wallet and tracks.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.types import TxParams, TxReceipt, Wei

from polyhunter.log_redaction import redact

from .artifacts import settlement_abi, settlement_bytecode

DECIMALS = 6
BASE_UNITS = 10**DECIMALS
# Fixed limits, generous for what each call does on Polygon (unused gas is not paid): no
# estimation at send time, so a tracked transaction's bytes never depend on a racing node call.
PUSH_GAS = 120_000
REIMBURSE_GAS = 150_000
PULL_GAS = 150_000
PROCEEDS_GAS = 100_000
ADMIN_GAS = 100_000
RECEIPT_TIMEOUT = 60

_ERC20_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": name, "stateMutability": mut, "inputs": inputs, "outputs": outputs}
    for name, mut, inputs, outputs in (
        ("balanceOf", "view", [{"name": "a", "type": "address"}], [{"name": "", "type": "uint256"}]),
        (
            "allowance",
            "view",
            [{"name": "o", "type": "address"}, {"name": "s", "type": "address"}],
            [{"name": "", "type": "uint256"}],
        ),
        (
            "transfer",
            "nonpayable",
            [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
            [{"name": "", "type": "bool"}],
        ),
    )
]
_ERC1155_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "isApprovedForAll",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "operator", "type": "address"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "safeTransferFrom",
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": "sender", "type": "address"},
            {"name": "receiver", "type": "address"},
            {"name": "id", "type": "uint256"},
            {"name": "amount", "type": "uint256"},
            {"name": "data", "type": "bytes"},
        ],
        "outputs": [],
    },
]


class AmountNotExact(ValueError):
    """An amount with more than 6 decimals, or not positive: the caller's arithmetic is wrong."""


class AdminCallFailed(RuntimeError):
    """A deployment or administration transaction reverted."""


@dataclass(frozen=True, slots=True)
class WalletReading:
    pusd: Decimal
    gas_wei: int
    nonce_latest: int
    nonce_pending: int


@dataclass(frozen=True, slots=True)
class Approvals:
    """What a follower granted the settlement contract (and holds), read from the chain."""

    pusd_allowance: Decimal
    pusd_balance: Decimal
    shares_approved: bool

    def covers(self, amount: Decimal) -> bool:
        """Whether a reimbursement of `amount` would go through now (allowance and balance)."""
        return self.pusd_allowance >= amount and self.pusd_balance >= amount


@dataclass(frozen=True, slots=True)
class ContractCall:
    """One call to send: target, calldata, gas limit, POL value (wei; zero for every settlement call)."""

    to: str
    data: bytes
    gas: int
    value: int = 0


def to_base_units(amount: Decimal) -> int:
    """Exact 6-decimal base units of a positive amount; AmountNotExact for sub-unit or non-positive."""
    scaled = amount * BASE_UNITS
    if not amount.is_finite() or amount <= 0 or scaled != scaled.to_integral_value():
        raise AmountNotExact(f"{amount} is not a positive amount in whole 10^-{DECIMALS} units")
    return int(scaled)


def from_base_units(value: int) -> Decimal:
    return Decimal(value).scaleb(-DECIMALS)


def copy_key(copy_id: int) -> bytes:
    """The contract's bytes32 key of a copy: the copy's id, big-endian (one key per copy, forever)."""
    if copy_id <= 0:
        raise ValueError(f"copy id {copy_id} is not a row id")
    return copy_id.to_bytes(32, "big")


@cache
def _offline() -> Web3:
    return Web3()  # only to encode calldata: no provider, no request


def _contract(address: str, abi: list[dict[str, Any]], w3: Web3 | None = None) -> Contract:
    return (w3 or _offline()).eth.contract(address=to_checksum_address(address), abi=abi)


def settlement_contract(*, w3: Web3 | None = None, settlement: str) -> Contract:
    return _contract(settlement, settlement_abi(), w3)


def _call(target: Contract, function: str, *args: Any, gas: int) -> ContractCall:
    return ContractCall(
        to=target.address, data=bytes.fromhex(target.encode_abi(function, args=list(args))[2:]), gas=gas
    )


def _admin_send(w3: Web3, admin: LocalAccount, tx: TxParams) -> TxReceipt:
    """Admin transactions (deploy, register): rare, by staff tooling, waited for, not tracked."""
    fee = w3.eth.gas_price
    full: TxParams = {
        "from": admin.address,
        "nonce": w3.eth.get_transaction_count(admin.address, "pending"),
        "chainId": w3.eth.chain_id,
        "maxFeePerGas": Wei(2 * fee),
        "maxPriorityFeePerGas": Wei(min(fee, w3.eth.max_priority_fee)),
        "value": Wei(0),
        **tx,
    }
    if "gas" not in full:
        full["gas"] = w3.eth.estimate_gas(full)
    signed = admin.sign_transaction(cast(Any, full))
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction), timeout=RECEIPT_TIMEOUT, poll_latency=0.05
    )
    if receipt["status"] != 1:
        raise AdminCallFailed(f"transaction {receipt['transactionHash'].hex()} of {admin.address} reverted")
    return receipt


def deploy_settlement(*, w3: Web3, admin_key: str, pusd: str, ctf: str) -> str:
    """Deploy FleetSettlement with `admin_key`'s address as its admin; the contract's address."""
    admin = cast(LocalAccount, Account.from_key(admin_key))
    factory = w3.eth.contract(abi=settlement_abi(), bytecode=settlement_bytecode())
    data = factory.constructor(to_checksum_address(pusd), to_checksum_address(ctf), admin.address).data_in_transaction
    receipt = _admin_send(w3, admin, {"data": data})
    address = receipt["contractAddress"]
    assert address is not None
    return to_checksum_address(address)


def register_operator(*, w3: Web3, admin_key: str, settlement: str, operator: str, allowed: bool = True) -> None:
    """Let `operator` settle through the contract (or, with allowed=False, no longer)."""
    admin = cast(LocalAccount, Account.from_key(admin_key))
    target = settlement_contract(w3=w3, settlement=settlement)
    call = _call(target, "add_operator" if allowed else "remove_operator", to_checksum_address(operator), gas=ADMIN_GAS)
    _admin_send(w3, admin, {"to": call.to, "data": call.data, "gas": call.gas})


def is_operator(*, w3: Web3, settlement: str, address: str) -> bool:
    return bool(
        settlement_contract(w3=w3, settlement=settlement).functions.is_operator(to_checksum_address(address)).call()
    )


def is_settled(*, w3: Web3, settlement: str, copy_id: int) -> bool:
    """Whether the contract recorded this copy (reimbursed or its shares pulled), at the latest block."""
    return bool(settlement_contract(w3=w3, settlement=settlement).functions.is_settled(copy_key(copy_id)).call())


def read_wallet(*, w3: Web3, pusd: str, address: str) -> WalletReading:
    owner = to_checksum_address(address)
    return WalletReading(
        pusd=from_base_units(_contract(pusd, _ERC20_ABI, w3).functions.balanceOf(owner).call()),
        gas_wei=int(w3.eth.get_balance(owner)),
        nonce_latest=int(w3.eth.get_transaction_count(owner, "latest")),
        nonce_pending=int(w3.eth.get_transaction_count(owner, "pending")),
    )


def follower_approvals(*, w3: Web3, pusd: str, ctf: str, settlement: str, follower: str) -> Approvals:
    owner, spender = to_checksum_address(follower), to_checksum_address(settlement)
    token = _contract(pusd, _ERC20_ABI, w3)
    return Approvals(
        pusd_allowance=from_base_units(token.functions.allowance(owner, spender).call()),
        pusd_balance=from_base_units(token.functions.balanceOf(owner).call()),
        shares_approved=bool(_contract(ctf, _ERC1155_ABI, w3).functions.isApprovedForAll(owner, spender).call()),
    )


def reimburse_call(*, settlement: str, copy_id: int, follower: str, amount: Decimal) -> ContractCall:
    """BUY settlement, sent by the operator wallet: pUSD follower -> operator, once per copy."""
    target = settlement_contract(settlement=settlement)
    return _call(
        target, "reimburse", copy_key(copy_id), to_checksum_address(follower), to_base_units(amount), gas=REIMBURSE_GAS
    )


def pull_shares_call(*, settlement: str, copy_id: int, follower: str, token_id: int, shares: Decimal) -> ContractCall:
    """SELL settlement, sent by the operator wallet: the follower's shares -> operator, once per copy."""
    target = settlement_contract(settlement=settlement)
    return _call(
        target,
        "pull_shares",
        copy_key(copy_id),
        to_checksum_address(follower),
        token_id,
        to_base_units(shares),
        gas=PULL_GAS,
    )


def push_shares_call(*, ctf: str, operator: str, follower: str, token_id: int, shares: Decimal) -> ContractCall:
    """BUY settlement's first leg, sent by the operator wallet: its shares -> the follower (ERC-1155)."""
    target = _contract(ctf, _ERC1155_ABI)
    return _call(
        target,
        "safeTransferFrom",
        to_checksum_address(operator),
        to_checksum_address(follower),
        token_id,
        to_base_units(shares),
        b"",
        gas=PUSH_GAS,
    )


def proceeds_call(*, pusd: str, follower: str, amount: Decimal) -> ContractCall:
    """SELL settlement's last leg, sent by the operator wallet: the sale's pUSD -> the follower."""
    target = _contract(pusd, _ERC20_ABI)
    return _call(target, "transfer", to_checksum_address(follower), to_base_units(amount), gas=PROCEEDS_GAS)


@dataclass(frozen=True, slots=True)
class SettledCopy:
    """What the contract's event says was settled for one copy: reimbursed pUSD, or shares pulled."""

    copy_id: int
    kind: str  # "reimbursed" or "pulled"
    follower: str
    operator: str
    amount: Decimal
    token_id: int | None
    block_number: int
    tx_hash: str


def settled_copies(*, w3: Web3, settlement: str, from_block: int = 0) -> dict[int, SettledCopy]:
    """Every copy the contract settled since `from_block`, from its Reimbursed and SharesPulled logs:
    what the chain says was collected, for reconciling debts and settlements against it."""
    target = settlement_contract(w3=w3, settlement=settlement)
    found: dict[int, SettledCopy] = {}
    for kind, event in (("reimbursed", target.events.Reimbursed), ("pulled", target.events.SharesPulled)):
        for log in event.get_logs(from_block=from_block):
            args = log["args"]
            copy_id = int.from_bytes(args["copy_id"], "big")
            found[copy_id] = SettledCopy(
                copy_id=copy_id,
                kind=kind,
                follower=to_checksum_address(args["follower"]),
                operator=to_checksum_address(args["operator"]),
                amount=from_base_units(int(args["amount"])),
                token_id=int(args["token_id"]) if kind == "pulled" else None,
                block_number=int(log["blockNumber"]),
                tx_hash="0x" + bytes(log["transactionHash"]).hex(),
            )
    return found


def revert_reason(*, w3: Web3, call: ContractCall, sender: str) -> str | None:
    """What the call would revert with if sent now by `sender` (eth_call at the latest block), or None.

    For deciding before sending (e.g. a revoked allowance → a debt, no transaction); the chain can
    change before the transaction is mined, so the receipt stays the answer.
    """
    try:
        w3.eth.call(
            {
                "from": to_checksum_address(sender),
                "to": to_checksum_address(call.to),
                "data": call.data,
                "gas": call.gas,
            }
        )
    except (ContractLogicError, ValueError) as exc:  # a revert; ValueError: the node's own refusal
        return redact(str(exc))[:300]  # a provider's message may quote the RPC URL with its key
    return None
