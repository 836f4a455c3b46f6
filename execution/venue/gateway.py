"""The venue gateway interface the pipeline talks to (Polymarket's implementation: polymarket.py).

``place`` never raises for an answer of the venue: it returns a ``Classification`` from the one
classifier (``classify.classify_post_response``). It raises only when the gateway itself refused
to send: ``VersionMismatch`` (canary), ``CorruptPayload``, ``CredentialsMismatch``.
Reads raise the typed errors of ``errors.py``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from execution.venue.auth import ApiCredentials
from execution.venue.canary import VersionCheck
from execution.venue.classify import Classification
from execution.venue.clock import VenueClock
from execution.venue.lookup import BalanceAllowance, OrderLookup, TradesPage
from execution.venue.markets import MarketTitle, OrderBook
from execution.venue.orders import MarketInfo
from execution.venue.payload import SignedOrderPayload
from execution.venue.session import SessionRegistry

if TYPE_CHECKING:
    from execution.venue.polymarket import PolymarketGateway


class VenueGateway(Protocol):
    """What the pipeline needs from a venue. Money in and out is Decimal."""

    def place(self, payload: SignedOrderPayload, *, creds: ApiCredentials) -> Classification:
        """POST the signed bytes once (no retry) and classify the answer."""
        ...

    def get_order(self, order_hash: str, *, creds: ApiCredentials, address: str) -> OrderLookup:
        """Look an order up by its hash: found (status, size matched), not found, or unknown."""
        ...

    def trades(
        self,
        *,
        creds: ApiCredentials,
        address: str,
        maker_address: str | None = None,
        trade_id: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
        after: int | None = None,
        before: int | None = None,
        cursor: str | None = None,
    ) -> TradesPage:
        """One page of the account's own trades (``/data/trades``)."""
        ...

    def session_registry(self, *, creds: ApiCredentials, address: str) -> SessionRegistry:
        """``GET /v1/user/session-signers``: the deposit wallet behind the API key and its
        active (unexpired, unrevoked) session signers with their scopes and expiry."""
        ...

    def book(self, token_id: str) -> OrderBook:
        """The token's book, at most a few seconds old (one shared fetch per token)."""
        ...

    def market_info(self, token_id: str) -> MarketInfo:
        """Tick size, neg-risk, minimum size, accepting orders and fees of the token's market."""
        ...

    def market_title(self, token_id: str) -> MarketTitle:
        """The market's question and the names of its outcomes (what pages show instead of token ids)."""
        ...

    def balance_allowance(
        self, *, creds: ApiCredentials, address: str, asset_type: str, signature_type: int, token_id: str | None = None
    ) -> BalanceAllowance:
        """pUSD (COLLATERAL) or a token's shares (CONDITIONAL) held by the funder, and allowances."""
        ...

    def server_time(self) -> int:
        """The venue's clock, unix seconds."""
        ...

    def version(self) -> int:
        """The order version the venue expects (``/version``), uncached."""
        ...

    def check_version(self) -> VersionCheck:
        """The (briefly cached) canary verdict; raises VersionMismatch when trading is refused."""
        ...


@lru_cache(maxsize=1)
def default_gateway() -> PolymarketGateway:
    """The process-wide gateway configured from settings (thread-safe, shared caches and client)."""
    from execution.venue.polymarket import PolymarketGateway

    return PolymarketGateway()


def venue_clock() -> VenueClock:
    """This process's venue time (the default gateway's clock, which stamps its L2 headers)."""
    return default_gateway().clock
