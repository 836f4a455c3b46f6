"""A local Polygon: anvil with the Polymarket-shaped contracts deployed, and its description file.

    with LocalChain().start() as chain:      # anvil on a free port, contracts deployed
        chain.info.write("var/chain.json")  # what run_venue_simulator --chain and the platform read
        chain.fund("0x…", pol="10", pusd="1000")

Roles (anvil's public development accounts): #8 deploys and administers every contract and
receives the exchanges' fees; #9 is the venue's operator, the only account the exchanges let
settle, and a minter of pUSD and shares (how `set_balance` seeds wallets). Contracts are deployed
in `DEPLOYMENT` order; a later contract (#12's settlement contract) is one more entry there and
one more key in `contracts`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams, TxReceipt, Wei

from .artifacts import artifact
from .node import DEV_MNEMONIC, POLYGON_CHAIN_ID, AnvilNode

Account.enable_unaudited_hdwallet_features()

DEPLOYER_INDEX = 8
OPERATOR_INDEX = 9
MAX_UINT256 = (1 << 256) - 1
BASE_UNITS = 10**6
WEI = 10**18
# (key in `contracts`, artifact, constructor arguments from what is already deployed and the roles)
DEPLOYMENT: tuple[tuple[str, str, Callable[[Mapping[str, str], str, str], list[Any]]], ...] = (
    ("pusd", "PUSD", lambda done, deployer, operator: []),
    ("ctf", "ConditionalTokens", lambda done, deployer, operator: [done["pusd"]]),
    ("exchange", "CTFExchange", lambda done, deployer, operator: [done["pusd"], done["ctf"], operator, deployer]),
    (
        "neg_risk_exchange",
        "CTFExchange",
        lambda done, deployer, operator: [done["pusd"], done["ctf"], operator, deployer],
    ),
)
EXCHANGES = ("exchange", "neg_risk_exchange")


def dev_account(index: int) -> LocalAccount:
    """Anvil's development account `index` (public keys of a public mnemonic: local test ether only)."""
    return cast(LocalAccount, Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"))


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """What a process needs to use the local chain: endpoints, contract addresses, role keys."""

    rpc_url: str
    ws_url: str
    chain_id: int
    contracts: dict[str, str]
    venue_operator: str
    venue_operator_key: str
    deployer: str
    wallets: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rpc_url": self.rpc_url,
            "ws_url": self.ws_url,
            "chain_id": self.chain_id,
            "contracts": dict(self.contracts),
            "accounts": {
                "venue_operator": {"address": self.venue_operator, "private_key": self.venue_operator_key},
                "deployer": {"address": self.deployer},
            },
            "fee_receiver": self.deployer,
            "wallets": dict(self.wallets),
            "note": "anvil development accounts: public keys, local test funds only",
        }

    def write(self, path: str | Path) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(target)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChainInfo:
        operator = data["accounts"]["venue_operator"]
        return cls(
            rpc_url=str(data["rpc_url"]),
            ws_url=str(data["ws_url"]),
            chain_id=int(data["chain_id"]),
            contracts={k: to_checksum_address(v) for k, v in data["contracts"].items()},
            venue_operator=to_checksum_address(operator["address"]),
            venue_operator_key=str(operator["private_key"]),
            deployer=to_checksum_address(data["accounts"]["deployer"]["address"]),
            wallets=dict(data.get("wallets", {})),
        )

    @classmethod
    def load(cls, source: ChainInfo | Mapping[str, Any] | str | Path) -> ChainInfo:
        if isinstance(source, ChainInfo):
            return source
        if isinstance(source, Mapping):
            return cls.from_dict(source)
        return cls.from_dict(json.loads(Path(source).read_text()))


def web3_for(rpc_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30, "proxies": {}}))


def contract(w3: Web3, info: ChainInfo, key: str) -> Contract:
    name = "CTFExchange" if key in EXCHANGES else {"pusd": "PUSD", "ctf": "ConditionalTokens"}[key]
    return w3.eth.contract(address=to_checksum_address(info.contracts[key]), abi=artifact(name).abi)


def send(w3: Web3, account: LocalAccount, tx: TxParams) -> TxReceipt:
    """Sign with `account`, send, wait for the receipt; RuntimeError when it reverted."""
    tx = {**tx, "from": account.address, "chainId": w3.eth.chain_id}
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    if "gas" not in tx:
        tx["gas"] = w3.eth.estimate_gas(tx)
    tx.setdefault("maxFeePerGas", Wei(w3.eth.gas_price * 2 + 10**9))
    tx.setdefault("maxPriorityFeePerGas", Wei(10**9))
    signed = account.sign_transaction(cast(Any, tx))
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.01)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {tx_hash.hex()} reverted")
    return receipt


def send_as(w3: Web3, address: str, tx: TxParams) -> None:
    """Send from any address through anvil's impersonation (seeding only: approvals of test wallets)."""
    sender = to_checksum_address(address)
    if w3.eth.get_balance(sender) < WEI // 10:
        w3.provider.make_request(cast(Any, "anvil_setBalance"), [sender, hex(WEI)])
    w3.provider.make_request(cast(Any, "anvil_impersonateAccount"), [sender])
    try:
        tx_hash = w3.eth.send_transaction({**tx, "from": sender})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.01)
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction {tx_hash.hex()} of {sender} reverted")
    finally:
        w3.provider.make_request(cast(Any, "anvil_stopImpersonatingAccount"), [sender])


def contracts_deploy(w3: Web3, *, deployer: LocalAccount, operator: str) -> dict[str, str]:
    """Deploy `DEPLOYMENT` in order, then let pUSD's minters be the CTF and the operator."""
    done: dict[str, str] = {}
    for key, name, arguments in DEPLOYMENT:
        built = artifact(name)
        factory = w3.eth.contract(abi=built.abi, bytecode=built.bytecode)
        tx = factory.constructor(*arguments(done, deployer.address, operator)).build_transaction(
            {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address, "pending")}
        )
        receipt = send(w3, deployer, tx)
        address = receipt["contractAddress"]
        assert address is not None
        done[key] = to_checksum_address(address)
    pusd = w3.eth.contract(address=to_checksum_address(done["pusd"]), abi=artifact("PUSD").abi)
    ctf = w3.eth.contract(address=to_checksum_address(done["ctf"]), abi=artifact("ConditionalTokens").abi)
    for call in (
        pusd.functions.setMinter(done["ctf"], True),
        pusd.functions.setMinter(operator, True),
        ctf.functions.setMinter(operator, True),
    ):
        send(w3, deployer, call.build_transaction({"from": deployer.address}))
    return done


def approvals_set(w3: Web3, info: ChainInfo, address: str, *, approved: bool = True) -> None:
    """The wallet's pUSD allowance and share approval for both exchanges, set on its behalf."""
    pusd, ctf = contract(w3, info, "pusd"), contract(w3, info, "ctf")
    holder = to_checksum_address(address)
    for key in EXCHANGES:
        spender = to_checksum_address(info.contracts[key])
        amount = MAX_UINT256 if approved else 0
        if pusd.functions.allowance(holder, spender).call() != amount:
            send_as(w3, holder, pusd.functions.approve(spender, amount).build_transaction({"from": holder}))
        if ctf.functions.isApprovedForAll(holder, spender).call() != approved:
            send_as(w3, holder, ctf.functions.setApprovalForAll(spender, approved).build_transaction({"from": holder}))


def wallet_fund(
    w3: Web3,
    info: ChainInfo,
    address: str,
    *,
    pol: Decimal | None = None,
    pusd: Decimal | None = None,
    approve: bool = True,
) -> None:
    """Set a wallet's POL and pUSD balances (units) and, by default, its approvals of both exchanges."""
    holder = to_checksum_address(address)
    if pusd is not None:
        operator = cast(LocalAccount, Account.from_key(info.venue_operator_key))
        token = contract(w3, info, "pusd")
        target = int(pusd * BASE_UNITS)
        current = int(token.functions.balanceOf(holder).call())
        sender: TxParams = {"from": operator.address}
        if target > current:
            send(w3, operator, token.functions.mint(holder, target - current).build_transaction(sender))
        elif target < current:
            send(w3, operator, token.functions.burn(holder, current - target).build_transaction(sender))
    if approve:
        approvals_set(w3, info, holder)
    # Last: the approvals' gas (paid through impersonation) leaves the POL asked for untouched.
    if pol is not None:
        w3.provider.make_request(cast(Any, "anvil_setBalance"), [holder, hex(int(pol * WEI))])


class LocalChain:
    """anvil + the deployed contracts; `info` describes it (see ChainInfo.to_dict for the file)."""

    def __init__(self, *, port: int = 0, block_time: float | None = None) -> None:
        self.node = AnvilNode(port=port, chain_id=POLYGON_CHAIN_ID, block_time=block_time)
        self._info: ChainInfo | None = None
        self.w3: Web3 | None = None

    @property
    def info(self) -> ChainInfo:
        if self._info is None:
            raise RuntimeError("the local chain is not running; call start() first")
        return self._info

    def start(self) -> LocalChain:
        self.node.start()
        try:
            self.w3 = web3_for(self.node.rpc_url)
            deployer, operator = dev_account(DEPLOYER_INDEX), dev_account(OPERATOR_INDEX)
            contracts = contracts_deploy(self.w3, deployer=deployer, operator=operator.address)
        except BaseException:
            self.node.stop()
            raise
        self._info = ChainInfo(
            rpc_url=self.node.rpc_url,
            ws_url=self.node.ws_url,
            chain_id=POLYGON_CHAIN_ID,
            contracts=contracts,
            venue_operator=operator.address,
            venue_operator_key="0x" + bytes(operator.key).hex(),
            deployer=deployer.address,
        )
        return self

    def fund(
        self,
        address: str,
        *,
        name: str | None = None,
        pol: Decimal | str | None = None,
        pusd: Decimal | str | None = None,
        approve: bool = True,
    ) -> None:
        assert self.w3 is not None
        wallet_fund(
            self.w3,
            self.info,
            address,
            pol=None if pol is None else Decimal(pol),
            pusd=None if pusd is None else Decimal(pusd),
            approve=approve,
        )
        if name:
            self._info = dataclasses.replace(self.info, wallets={**self.info.wallets, name: address.lower()})

    def stop(self) -> None:
        self.node.stop()

    def __enter__(self) -> LocalChain:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class WalletFunding:
    """A named wallet and what it starts with (units): POL for gas, pUSD, approvals of both exchanges."""

    name: str
    address: str
    pol: Decimal | None = None
    pusd: Decimal | None = None
    approve: bool = True


def funding_from_file(path: str | Path) -> list[WalletFunding]:
    """`{"wallets": [{"name", "address", "pol", "pusd", "approve"}]}`, or a venue scenario's `balances`."""
    data = json.loads(Path(path).read_text())
    rows = data.get("wallets")
    if rows is None:
        rows = [{"address": b["address"], "pusd": b.get("pusd")} for b in data["balances"]]
    return [
        WalletFunding(
            name=str(row.get("name") or row["address"]).lower(),
            address=to_checksum_address(row["address"]),
            pol=None if row.get("pol") is None else Decimal(str(row["pol"])),
            pusd=None if row.get("pusd") is None else Decimal(str(row["pusd"])),
            approve=bool(row.get("approve", True)),
        )
        for row in rows
    ]


def local_chain_fund(chain: LocalChain, wallets: list[WalletFunding]) -> None:
    for wallet in wallets:
        chain.fund(wallet.address, name=wallet.name, pol=wallet.pol, pusd=wallet.pusd, approve=wallet.approve)
