"""How many orders per second the venue gateway signs on one core (no network, no database).

Measures ``execution.venue.signing.sign_order_with_key`` end to end: validation, wallet check,
SDK build + EIP-712 signature, POST body serialisation and our own order hash. The pipeline's
``order_sign`` adds the keyring decryption of the key and API credentials (measured separately
as "keyring open"), which needs no database: the ciphertexts are sealed in memory.

    .venv/bin/python bench/venue_signing.py [--orders 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polyhunter.settings_test")

import django  # noqa: E402

django.setup()

from eth_keys.backends import get_backend  # noqa: E402

from accounts.keyring import open_secret, seal_secret  # noqa: E402
from accounts.models import TradingAccount  # noqa: E402
from execution.venue.environment import sdk_config  # noqa: E402
from execution.venue.orders import MarketInfo, OrderRequest  # noqa: E402
from execution.venue.signing import sign_order_with_key  # noqa: E402

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
SAFE = "0xd93B25cb943D14d0d34FBaF01Fc93a0f8b5F6E47"
DEPOSIT_WALLET = "0xBc0fF067b7740Eff76C1ca93c875Ba6B890d6B50"
ASSET_ID = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
MARKET = MarketInfo(
    condition_id="0x" + "ab" * 32,
    tick_size=Decimal("0.01"),
    neg_risk=False,
    min_order_size=Decimal(5),
    token_ids=frozenset({ASSET_ID}),
)
CONFIG = sdk_config(clob_url="http://127.0.0.1:9", data_url="http://127.0.0.1:9", chain_id=137)


def rate(work: Callable[[], object], orders: int, runs: int) -> float:
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(orders):
            work()
        results.append(orders / (time.perf_counter() - started))
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    buy = OrderRequest.market_buy(token_id=ASSET_ID, amount=Decimal(25), max_price=Decimal("0.57"))
    limit = OrderRequest.limit(token_id=ASSET_ID, side="SELL", price=Decimal("0.56"), size=Decimal("21.04"))

    def sign(request: OrderRequest, funder: str) -> Callable[[], object]:
        return lambda: sign_order_with_key(
            private_key=KEY, api_key="k", funder=funder, request=request, market=MARKET, config=CONFIG
        )

    account = TradingAccount(signer_address=ADDRESS.lower())
    seal_secret(account=account, field="private_key_ciphertext", plaintext=KEY.encode())
    seal_secret(
        account=account, field="api_credentials_ciphertext", plaintext=b'{"key":"k","secret":"s","passphrase":"p"}'
    )

    def keyring_open() -> object:
        return (
            open_secret(account=account, field="private_key_ciphertext"),
            open_secret(account=account, field="api_credentials_ciphertext"),
        )

    print(f"ECC backend: {type(get_backend()).__name__}; {args.orders} orders x {args.runs} runs, median")
    for label, work in (
        ("FAK BUY, EOA (type 0)", sign(buy, ADDRESS)),
        ("GTC SELL, Safe (type 2)", sign(limit, SAFE)),
        ("FAK BUY, deposit wallet (type 3)", sign(buy, DEPOSIT_WALLET)),
        ("keyring open (key + credentials)", keyring_open),
    ):
        print(f"{label:36s} {rate(work, args.orders, args.runs):8.0f} /s")


if __name__ == "__main__":
    main()
