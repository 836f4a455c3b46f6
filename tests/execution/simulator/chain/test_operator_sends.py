"""The venue operator's sends in one process: the venue's settlement worker and the seeding of
wallets both sign as the operator and read its "pending" nonce; unserialised, two at once took one
nonce and the later replaced the earlier, whose receipt never came (the fleet tests' intermittent
60 s funding timeout)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from eth_account import Account

from execution.simulator.chain.local import LocalChain


def test_wallets_seeded_from_many_threads_at_once_all_get_their_funds(chain: LocalChain) -> None:
    wallets = [Account.create().address for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda address: chain.fund(address, pusd="7", approve=False), wallets))
    pusd = chain.info.contracts["pusd"]
    for address in wallets:
        data = "0x70a08231" + address[2:].lower().rjust(64, "0")  # balanceOf(address)
        assert int(chain.node.rpc("eth_call", [{"to": pusd, "data": data}, "latest"]), 16) == 7 * 10**6
