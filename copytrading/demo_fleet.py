"""The demo's fleet follower (with the local chain, on by default in ``make demo``): erin copies
through PolyHunter's operator wallets, and her copies settle on the local chain — shares pushed to
her wallet, the float taken back through the settlement contract under the allowance her wallet
granted.

The fleet's phrase is BIP-39's published "abandon … about" test vector and erin's wallet a public
development key (Hardhat #3): local test funds only. The demo plays erin's own wallet software
when it grants the allowance; PolyHunter is given her address alone.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from eth_account import Account
from eth_utils.address import to_checksum_address

from accounts.models import TradingAccount
from execution.fleet.custody import custody_set_fleet
from execution.fleet.models import OperatorWallet
from execution.fleet.onchain import deploy_settlement, register_operator
from execution.fleet.wallets import sync_fleet, wallet_record_balances
from execution.simulator.chain.local import LocalChain, contract, dev_account, send
from polyhunter.audit import Actor

DEMO_MNEMONIC = "abandon " * 11 + "about"
DEMO_FLEET_SIZE = 4
ERIN_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
FLOAT_PUSD = Decimal(5000)
ERIN_PUSD = Decimal(2000)


def demo_fleet_start(chain: LocalChain) -> None:
    """Configure this process's fleet on the local chain: contract, wallets funded and registered."""
    assert chain.w3 is not None
    admin = dev_account(8)
    pusd, ctf = chain.info.contracts["pusd"], chain.info.contracts["ctf"]
    settlement = deploy_settlement(w3=chain.w3, admin_key="0x" + bytes(admin.key).hex(), pusd=pusd, ctf=ctf)
    settings.TRADING_MNEMONIC_SECRET, settings.FLEET_SIZE = DEMO_MNEMONIC, DEMO_FLEET_SIZE
    settings.FLEET_SETTLEMENT_ADDRESS, settings.POLYGON_RPC_URL = settlement.lower(), chain.info.rpc_url
    settings.FLEET_PUSD_ADDRESS, settings.FLEET_CTF_ADDRESS = pusd.lower(), ctf.lower()
    sync_fleet()
    for wallet in OperatorWallet.objects.filter(index__lt=DEMO_FLEET_SIZE):
        chain.fund(wallet.address, pol="10", pusd=str(FLOAT_PUSD), approve=True)
        register_operator(
            w3=chain.w3, admin_key="0x" + bytes(admin.key).hex(), settlement=settlement, operator=wallet.address
        )
        wallet_record_balances(wallet_id=wallet.id, float_usdc=FLOAT_PUSD, gas_pol=Decimal(10))


def demo_fleet_follower(chain: LocalChain, account: TradingAccount, *, actor: Actor) -> TradingAccount:
    """erin's wallet holds pUSD and grants the settlement contract its allowance and her shares'
    approval; her account is fleet."""
    assert chain.w3 is not None
    erin = Account.from_key(ERIN_KEY)
    chain.fund(erin.address, pol="10", pusd=str(ERIN_PUSD), approve=False)
    token = contract(chain.w3, chain.info, "pusd")
    units = int(ERIN_PUSD * 10**6)
    data = token.encode_abi("approve", args=[to_checksum_address(settings.FLEET_SETTLEMENT_ADDRESS), units])
    send(chain.w3, erin, {"to": token.address, "data": bytes.fromhex(str(data)[2:])})
    # And lets it move her shares, so her sells are copied too (pulled to an operator wallet, sold).
    ctf = contract(chain.w3, chain.info, "ctf")
    data = ctf.encode_abi("setApprovalForAll", args=[to_checksum_address(settings.FLEET_SETTLEMENT_ADDRESS), True])
    send(chain.w3, erin, {"to": ctf.address, "data": bytes.fromhex(str(data)[2:])})
    if account.mode != TradingAccount.Mode.FLEET:
        account = custody_set_fleet(account=account, funder_address=erin.address, actor=actor)
    return account
