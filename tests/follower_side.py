"""What a follower does on their own machine, with the official SDK (polymarket-client 0.14.0,
unchanged but for its hosts): authorise PolyHunter's session signer for their deposit wallet, or
revoke it. The platform never runs this code and never sees the owner key; tests and the demo
play the follower with it against the simulated venue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from polymarket import PRODUCTION, SecureClient
from polymarket._internal.environment import create_environment, get_environment_config
from polymarket._internal.wallet import derive_beacon_deposit_wallet_address
from polymarket.auth import BuilderApiKey
from polymarket.environments import Environment
from polymarket.session_keys import AuthorizeSessionKeyResult

DEAD_HTTP = "http://127.0.0.1:9"
DEAD_WS = "ws://127.0.0.1:9"
# A builder key the simulator accepts by its headers (it holds no builder keys to check them against).
BUILDER_KEY = BuilderApiKey(key="demo-builder-key", secret="ZGVtby1idWlsZGVyLXNlY3JldA==", passphrase="demo")


def venue_environment(url: str) -> Environment:
    """Production config with the CLOB, Data API, relayer and RPC on the simulated venue, every
    other host on a loopback port where nothing listens, and quick relayer polling."""
    base = get_environment_config(PRODUCTION)
    hosts: dict[str, object] = {}
    for field in dataclasses.fields(base):
        if field.name.endswith("_ws_url"):
            hosts[field.name] = DEAD_WS
        elif field.name.endswith("_url"):
            hosts[field.name] = DEAD_HTTP
    hosts |= {"clob_url": url, "data_url": url, "relayer_url": url, "rpc_url": url + "/rpc"}
    hosts |= {"relayer_poll_frequency_ms": 20, "relayer_max_polls": 50}
    return create_environment(name="simulator", config=dataclasses.replace(base, **hosts))  # type: ignore[arg-type]


def deposit_wallet_of(owner_address: str) -> str:
    return derive_beacon_deposit_wallet_address(owner_address, get_environment_config(PRODUCTION).wallet_derivation)


@contextmanager
def owner_client(url: str, owner_key: str, *, wallet: str | None = None) -> Iterator[SecureClient]:
    """The deposit-wallet owner's own SecureClient (L1-derived CLOB credentials, a builder key)."""
    from eth_account import Account

    address = Account.from_key(owner_key).address
    client = SecureClient.create(
        private_key=owner_key,
        wallet=wallet or deposit_wallet_of(address),
        environment=venue_environment(url),
        api_key=BUILDER_KEY,
    )
    try:
        yield client
    finally:
        client.close()


def authorise(
    url: str, owner_key: str, signer: str, *, scopes: Sequence[str] = ("CLOB",), wallet: str | None = None
) -> AuthorizeSessionKeyResult:
    with owner_client(url, owner_key, wallet=wallet) as client:
        return client.authorize_session_key(address=signer, scopes=list(scopes))


def revoke(url: str, owner_key: str, signer: str, *, wallet: str | None = None) -> None:
    with owner_client(url, owner_key, wallet=wallet) as client:
        client.revoke_session_key(address=signer)
