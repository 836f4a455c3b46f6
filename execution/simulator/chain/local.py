"""A local Polygon: anvil with the Polymarket-shaped contracts deployed, and its description file.

    with LocalChain().start() as chain:      # anvil on a free port, contracts deployed
        chain.info.write("var/chain.json")  # what run_venue_simulator --chain and the platform read
        chain.fund("0x…", pol="10", pusd="1000")

Roles (anvil's public development accounts): #8 deploys and administers every contract and
receives the exchanges' fees; #9 is the venue's operator, the only account the exchanges let
settle, and a minter of pUSD and shares (how `set_balance` seeds wallets). Contracts are deployed
in `DEPLOYMENT` order. #12's settlement contract is deployed apart, by
`execution.fleet.onchain.deploy_settlement` (this package imports nothing from the rest of execution).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.types import Nonce, TxParams, TxReceipt, Wei

from .artifacts import artifact
from .node import DEV_MNEMONIC, POLYGON_CHAIN_ID, AnvilNode

Account.enable_unaudited_hdwallet_features()

DEPLOYER_INDEX = 8
OPERATOR_INDEX = 9
MAX_UINT256 = (1 << 256) - 1
BASE_UNITS = 10**6
WEI = 10**18
SETUP_GAS = 500_000
MAX_FEE_PER_GAS = 100 * 10**9
PRIORITY_FEE_PER_GAS = 10**9
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
# The venue operator signs both the venue's settlements (its worker thread) and the minting of
# funded wallets (tests, the demo): each reads the "pending" nonce and sends, so two at once in one
# process could take one nonce -- the later replacing the earlier, whose receipt never comes.
OPERATOR_SENDS = threading.RLock()


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


def call_tx(target: Contract, function: str, *args: Any) -> TxParams:
    """A call to `target` as a bare transaction (no gas estimation, no fee look-ups)."""
    return {"to": target.address, "data": target.encode_abi(function, args=list(args))}


def _filled(tx: TxParams, *, sender: str, nonce: int) -> TxParams:
    # Seeding calls: fixed generous gas (unused gas costs nothing) and fees, so each is one request.
    filled: TxParams = {
        "value": Wei(0),
        "gas": SETUP_GAS,
        "maxFeePerGas": Wei(MAX_FEE_PER_GAS),
        "maxPriorityFeePerGas": Wei(PRIORITY_FEE_PER_GAS),
        **tx,
        "from": sender,
        "nonce": Nonce(nonce),
        "chainId": POLYGON_CHAIN_ID,
    }
    return filled


def _receipts(w3: Web3, hashes: list[HexBytes], who: str) -> list[TxReceipt]:
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=60, poll_latency=0.01) for h in hashes]
    for receipt in receipts:
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction {receipt['transactionHash'].hex()} of {who} reverted")
    return receipts


def send(w3: Web3, account: LocalAccount, tx: TxParams) -> TxReceipt:
    """Sign with `account`, send, wait for the receipt; RuntimeError when it reverted."""
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    full = _filled(tx, sender=account.address, nonce=nonce)
    if "to" not in tx and "gas" not in tx:  # a deployment: as much gas as it needs
        full["gas"] = w3.eth.estimate_gas({k: v for k, v in full.items() if k != "gas"})  # type: ignore[arg-type]
    signed = account.sign_transaction(cast(Any, full))
    return _receipts(w3, [w3.eth.send_raw_transaction(signed.raw_transaction)], account.address)[0]


def contracts_deploy(w3: Web3, *, deployer: LocalAccount, operator: str) -> dict[str, str]:
    """Deploy `DEPLOYMENT` in order, then let pUSD's minters be the CTF and the operator."""
    done: dict[str, str] = {}
    for key, name, arguments in DEPLOYMENT:
        built = artifact(name)
        factory = w3.eth.contract(abi=built.abi, bytecode=built.bytecode)
        data = factory.constructor(*arguments(done, deployer.address, operator)).data_in_transaction
        receipt = send(w3, deployer, {"data": data})
        address = receipt["contractAddress"]
        assert address is not None
        done[key] = to_checksum_address(address)
    pusd = w3.eth.contract(address=to_checksum_address(done["pusd"]), abi=artifact("PUSD").abi)
    ctf = w3.eth.contract(address=to_checksum_address(done["ctf"]), abi=artifact("ConditionalTokens").abi)
    for call in (
        call_tx(pusd, "setMinter", done["ctf"], True),
        call_tx(pusd, "setMinter", operator, True),
        call_tx(ctf, "setMinter", operator, True),
    ):
        send(w3, deployer, call)
    return done


def rpc_batch(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    """Several JSON-RPC calls in one round trip; RuntimeError naming the first that failed."""
    if not calls:
        return []
    body = [{"jsonrpc": "2.0", "id": i, "method": method, "params": params} for i, (method, params) in enumerate(calls)]
    answers = {a["id"]: a for a in _http().post(url, json=body).raise_for_status().json()}
    for i, (method, _params) in enumerate(calls):
        if "error" in answers[i]:
            raise RuntimeError(f"{method}: {answers[i]['error']}")
    return [answers[i].get("result") for i in range(len(calls))]


@cache
def _http() -> httpx.Client:
    return httpx.Client(timeout=60, trust_env=False)


def _eth_call(target: Contract, function: str, *args: Any) -> tuple[str, list[Any]]:
    return "eth_call", [{"to": target.address, "data": target.encode_abi(function, args=list(args))}, "latest"]


def wallet_seed(
    w3: Web3,
    info: ChainInfo,
    address: str,
    *,
    pusd: int | None = None,
    shares: Mapping[str, int] | None = None,
    approved: bool | None = None,
    pol: int | None = None,
) -> None:
    """Set a wallet's pUSD and shares (base units), its approvals of both exchanges and its POL (wei).

    Seeding, in four round trips whatever the wallet needs: read, then mint or burn as the venue
    operator (a minter) and approve or revoke as the wallet (anvil's impersonation), then wait.
    """
    with OPERATOR_SENDS:
        _wallet_seed(w3, info, address, pusd=pusd, shares=shares, approved=approved, pol=pol)


def _wallet_seed(
    w3: Web3,
    info: ChainInfo,
    address: str,
    *,
    pusd: int | None,
    shares: Mapping[str, int] | None,
    approved: bool | None,
    pol: int | None,
) -> None:
    url = info.rpc_url
    holder = to_checksum_address(address)
    operator = cast(LocalAccount, Account.from_key(info.venue_operator_key))
    pusd_token, ctf = contract(w3, info, "pusd"), contract(w3, info, "ctf")
    tokens = [int(t) for t in shares or {}]
    spenders = [to_checksum_address(info.contracts[key]) for key in EXCHANGES]
    reads = [
        _eth_call(pusd_token, "balanceOf", holder),
        *(_eth_call(ctf, "balanceOf", holder, token) for token in tokens),
        *(_eth_call(pusd_token, "allowance", holder, spender) for spender in spenders),
        *(_eth_call(ctf, "isApprovedForAll", holder, spender) for spender in spenders),
        ("eth_getBalance", [holder, "latest"]),
        ("eth_getTransactionCount", [operator.address, "pending"]),
        ("eth_getTransactionCount", [holder, "pending"]),
    ]
    values = [int(v, 16) for v in rpc_batch(url, reads)]
    balance, held, rest = values[0], values[1 : 1 + len(tokens)], values[1 + len(tokens) :]
    allowances, approvals = rest[: len(spenders)], rest[len(spenders) : 2 * len(spenders)]
    gas_balance, operator_nonce, holder_nonce = rest[2 * len(spenders) :]

    minted: list[TxParams] = []
    if pusd is not None and pusd != balance:
        minted.append(call_tx(pusd_token, "mint" if pusd > balance else "burn", holder, abs(pusd - balance)))
    for token, current in zip(tokens, held, strict=True):
        target = (shares or {})[str(token)]
        if target != current:
            minted.append(call_tx(ctf, "mint" if target > current else "burn", holder, token, abs(target - current)))
    own: list[TxParams] = []
    if approved is not None:
        for spender, allowance, approval in zip(spenders, allowances, approvals, strict=True):
            if allowance != (MAX_UINT256 if approved else 0):
                own.append(call_tx(pusd_token, "approve", spender, MAX_UINT256 if approved else 0))
            if bool(approval) != approved:
                own.append(call_tx(ctf, "setApprovalForAll", spender, approved))

    signed = [
        operator.sign_transaction(cast(Any, _filled(tx, sender=operator.address, nonce=operator_nonce + i)))
        for i, tx in enumerate(minted)
    ]
    sends: list[tuple[str, list[Any]]] = [
        ("eth_sendRawTransaction", ["0x" + bytes(t.raw_transaction).hex()]) for t in signed
    ]
    for i, tx in enumerate(own):
        sends.append(("eth_sendTransaction", [_json_tx(_filled(tx, sender=holder, nonce=holder_nonce + i))]))
    if own:
        prepare: list[tuple[str, list[Any]]] = [("anvil_impersonateAccount", [holder])]
        if gas_balance < WEI // 10:
            prepare.append(("anvil_setBalance", [holder, hex(WEI)]))
        rpc_batch(url, prepare)
    try:
        hashes = rpc_batch(url, sends)
        _receipts(w3, [HexBytes(h) for h in hashes], holder)
    finally:
        finish: list[tuple[str, list[Any]]] = [("anvil_stopImpersonatingAccount", [holder])] if own else []
        if pol is not None:  # last: the approvals' gas leaves the POL asked for untouched
            finish.append(("anvil_setBalance", [holder, hex(pol)]))
        rpc_batch(url, finish)


def _json_tx(tx: TxParams) -> dict[str, Any]:
    return {k: (hex(v) if isinstance(v, int) else v) for k, v in tx.items()}


def approvals_set(w3: Web3, info: ChainInfo, address: str, *, approved: bool = True) -> None:
    """The wallet's pUSD allowance and share approval for both exchanges, set on its behalf."""
    wallet_seed(w3, info, address, approved=approved)


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
    wallet_seed(
        w3,
        info,
        address,
        pusd=None if pusd is None else int(pusd * BASE_UNITS),
        approved=True if approve else None,
        pol=None if pol is None else int(pol * WEI),
    )


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
