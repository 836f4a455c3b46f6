"""Protocol constants the simulated venue checks against (docs/simulator.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

POLYGON_CHAIN_ID: Final = 137
AMOY_CHAIN_ID: Final = 80002

STANDARD_EXCHANGE_V2: Final = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2: Final = "0xe2222d279d744050d28e00520010520000310F59"
EXCHANGE_V3: Final = "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa"
NEG_RISK_ADAPTER: Final = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"

ORDER_DOMAIN_NAME: Final = "Polymarket CTF Exchange"
ORDER_TYPE_STRING: Final = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)"
)
CLOB_AUTH_DOMAIN_NAME: Final = "ClobAuthDomain"
CLOB_AUTH_MESSAGE: Final = "This message attests that I control the given wallet"

# CREATE2 constants of the wallet factories (fixtures/wallet_derivation_vectors.json).
PROXY_FACTORY: Final = "0xaB45c5A4B0c941a2F231C04C3f49182e1A254052"
PROXY_IMPLEMENTATION: Final = "0x44e999d5c2F66Ef0861317f9A4805AC2e90aEB4f"
SAFE_FACTORY: Final = "0xaacFeEa03eb1561C4e67d661e40682Bd20E3541b"
SAFE_INIT_CODE_HASH: Final = "0x2bce2127ff07fb632d16c8347c4ebf501f4841168bed00d9e6ef715ddb6fcecf"
DEPOSIT_WALLET_FACTORY: Final = "0x00000000000Fb5C9ADea0298D729A0CB3823Cc07"
DEPOSIT_WALLET_BEACON: Final = "0x7A18EDfe055488A3128f01F563e5B479D92ffc3a"
DEPOSIT_WALLET_UUPS_IMPLEMENTATION: Final = "0x58CA52ebe0DadfdF531Cde7062e76746de4Db1eB"

SUPPORTED_TICK_SIZES: Final = frozenset(Decimal(t) for t in ("0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001"))

# Order amounts and balances are integers in 6-decimal base units (pUSD and shares alike).
BASE_UNITS: Final = 1_000_000
# Prices are held as integers in 1e-4 units: every supported tick is a multiple of 0.0001.
PRICE_UNITS: Final = 10_000

MAX_BATCH_ORDERS: Final = 15
MAX_UINT256: Final = (1 << 256) - 1
# Allowance the simulator reports for an approved spender (the usual "infinite" approval).
UNLIMITED_ALLOWANCE: Final = MAX_UINT256
