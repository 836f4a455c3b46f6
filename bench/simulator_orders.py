"""How many POST /order the simulated venue verifies and matches per second on one core.

The venue runs in its own process pinned to CPU 0 (signature recovery, HMAC, matching, fills and
settlement bookkeeping all on); this process, pinned to CPU 1, pre-signs orders with the official
SDK's pure functions and fires them over keep-alive connections. Reported: orders/s of wall time
and orders per second of the venue process's own CPU time (read from /proc), which is the figure
that holds when the venue shares the box with the platform.

    .venv/bin/python bench/simulator_orders.py [--orders 6000] [--connections 32] [--kind FAK|GTC]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from polymarket._internal.actions.orders.orders import create_signed_order, create_unsigned_order
from polymarket._internal.actions.orders.post import build_post_order_request
from polymarket._internal.actions.orders.typed_data import build_order_signature, build_order_typed_data
from polymarket._internal.actions.orders.types import OrderDraft
from polymarket.types import EvmAddress

ROOT = Path(__file__).resolve().parents[1]

PK = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
CID = "0x" + "ab" * 32

SERVER = """
import sys
from execution.simulator import Venue, serve
venue = Venue(sys.argv[1])
serve(venue, host="127.0.0.1", port=0, on_ready=lambda url: print(url, flush=True))
"""


def scenario(address: str) -> dict[str, Any]:
    return {
        "markets": [
            {
                "condition_id": CID,
                "tokens": [{"token_id": YES, "outcome": "Yes"}, {"token_id": NO, "outcome": "No"}],
                "tick_size": "0.01",
                "fee_rate": "0.072",
            }
        ],
        # Constant liquidity: every FAK order fills against the house and creates a trade.
        "books": [{"token_id": YES, "bids": [["0.55", "100000"]], "asks": [["0.57", "100000"]], "replenish": True}],
        "balances": [{"address": address, "pusd": "100000000"}],
        "settlement": {"mined_after_ms": 500, "confirmed_after_ms": 2000},
    }


def signed_bodies(account: LocalAccount, api_key: str, count: int, *, kind: str) -> list[bytes]:
    """Order bodies exactly as the SDK posts them: FAK buys of $2 at most 0.57, or resting GTC bids."""
    maker, taker = (2_000_000, 3_508_700) if kind == "FAK" else (2_500_000, 5_000_000)
    draft = OrderDraft(
        chain_id=137,
        exchange_address=EvmAddress("0xE111180000d2663C0091e4f400237545B87B996B"),
        expiration=0,
        funder_address=EvmAddress(account.address),
        offered_amount=maker,
        order_type=kind,  # type: ignore[arg-type]
        side="BUY",
        signer=EvmAddress(account.address),
        requested_amount=taker,
        asset_id=YES,  # type: ignore[arg-type]
    )
    bodies = []
    for _ in range(count):
        unsigned = create_unsigned_order(draft, wallet=EvmAddress(account.address), wallet_type="EOA")
        raw = account.sign_typed_data(full_message=build_order_typed_data(unsigned)).signature.hex()
        signature = build_order_signature(unsigned, raw if raw.startswith("0x") else "0x" + raw)  # type: ignore[arg-type]
        _path, payload = build_post_order_request(create_signed_order(unsigned, signature), owner_api_key=api_key)
        bodies.append(json.dumps(payload, separators=(",", ":")).encode())
    return bodies


def hmac_headers(credentials: dict[str, str], address: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    secret = base64.urlsafe_b64decode(credentials["secret"] + "=" * (-len(credentials["secret"]) % 4))
    digest = hmac.new(secret, timestamp.encode() + b"POST/order" + body, hashlib.sha256).digest()
    return {
        "POLY_ADDRESS": address,
        "POLY_API_KEY": credentials["apiKey"],
        "POLY_PASSPHRASE": credentials["passphrase"],
        "POLY_TIMESTAMP": timestamp,
        "POLY_SIGNATURE": base64.urlsafe_b64encode(digest).decode(),
        "Content-Type": "application/json",
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pinned(cpu: int, command: list[str]) -> list[str]:
    taskset = shutil.which("taskset")
    if taskset is None or (os.cpu_count() or 1) < 2:
        return command
    return [taskset, "-c", str(cpu), *command]


async def fire(url: str, requests: list[tuple[bytes, dict[str, str]]], connections: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                body, headers = queue.get_nowait()
                async with session.post(url + "/order", data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--kind", choices=["FAK", "GTC"], default="FAK")
    args = parser.parse_args()
    account = Account.from_key(PK)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(scenario(account.address), handle)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        pinned(0, [sys.executable, "-c", SERVER, handle.name]), stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {1})
        credentials = httpx.post(url + "/_sim/api-keys", json={"address": account.address}).json()
        started = time.perf_counter()
        bodies = signed_bodies(account, credentials["apiKey"], args.orders, kind=args.kind)
        signing = time.perf_counter() - started
        # Headers are built just before firing: the venue accepts a 30 s timestamp window.
        requests = [(body, hmac_headers(credentials, account.address, body)) for body in bodies]
        before = cpu_seconds(server.pid)
        started = time.perf_counter()
        statuses = asyncio.run(fire(url, requests, args.connections))
        wall = time.perf_counter() - started
        used = cpu_seconds(server.pid) - before
    finally:
        server.terminate()
        server.wait(10)
        Path(handle.name).unlink()
    print(f"signed {args.orders} {args.kind} orders in {signing:.1f}s (client side, not measured below)")
    print(f"statuses: {statuses}")
    print(f"wall: {args.orders / wall:,.0f} orders/s over {args.connections} keep-alive connections")
    print(f"venue CPU: {used:.2f}s -> {args.orders / used:,.0f} orders per CPU-second (one core)")


if __name__ == "__main__":
    main()
