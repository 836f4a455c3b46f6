"""What a deposit wallet's owner does with their own tools to authorise a session signer — for
the demo only, which plays its session-mode follower (dave) end to end against the simulated
venue. PolyHunter's own flow never calls this: it is never given an owner key.

It is the official SDK's ``authorize_session_key`` as a follower would run it (their key, a
builder API key, the venue's relayer), with every host on the configured venue.
"""

from __future__ import annotations

import dataclasses

from eth_utils.address import to_checksum_address
from polymarket import SecureClient
from polymarket._internal.environment import create_environment
from polymarket.auth import BuilderApiKey

from execution.venue.environment import configured_sdk_config

# The simulated relayer needs builder headers but holds no builder keys to check them against.
DEMO_BUILDER_KEY = BuilderApiKey(
    key="demo-builder-key",
    secret="ZGVtby1idWlsZGVyLXNlY3JldA==",  # noqa: S106 - a made-up demo value, checked by nothing
    passphrase="demo",  # noqa: S106 - idem
)


def owner_authorise_session(*, owner_key: str, wallet: str, signer: str, venue_url: str) -> None:
    """The owner authorises ``signer`` for ``wallet`` (scope CLOB, the SDK's 180 days)."""
    venue = venue_url.rstrip("/")
    config = dataclasses.replace(
        configured_sdk_config(), relayer_url=venue, rpc_url=venue + "/rpc", relayer_poll_frequency_ms=50
    )
    client = SecureClient.create(
        private_key=owner_key,
        wallet=to_checksum_address(wallet),
        environment=create_environment(name="owner", config=config),
        api_key=DEMO_BUILDER_KEY,
    )
    try:
        client.authorize_session_key(address=to_checksum_address(signer), scopes=["CLOB"])
    finally:
        client.close()
