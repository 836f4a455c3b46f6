"""The relayer's session-signer surface and the registry read, as polymarket-client 0.14.0 calls them.

- ``GET  /v1/account/transactions/params?address=&type=WALLET`` → ``{"address", "nonce"}``
- ``POST /v1/session-signers/authorizations`` (builder key headers) → ``{"status", "transactionId",
  "transactionHash"}``; ``POST /v1/session-signers/revocations`` → ``{"status", "fenced",
  "transactionId"}``; ``GET /v1/account/transactions/{id}`` → the relayed transaction's state
- ``GET  /v1/user/session-signers`` (CLOB, L2) → ``{"wallet", "signers": [{address, scopes,
  valid_until}]}``: the active grants of the wallet behind the API key — the owner's wallet, or,
  for a session signer's own key, the wallet that authorised it
- ``POST /rpc`` — the two JSON-RPC reads the SDK makes while signing a batch (``eth_chainId``,
  ``eth_getBlockByNumber``): the simulator's clock is its chain's time

Every relayed transaction confirms at once (there is no chain to wait for).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from . import errors
from .accounts import ApiKeys
from .crypto import address_bytes, hex_address
from .errors import VenueError
from .models import ApiCredentials
from .sessions import (
    CLOB_SCOPE,
    DEFAULT_LIFETIME_S,
    SessionRegistry,
    parse_session_request,
    signers_view,
    verify_owner_batch,
)
from .wallets import deposit_wallets

_BUILDER_HEADERS = (
    "POLY_BUILDER_API_KEY",
    "POLY_BUILDER_PASSPHRASE",
    "POLY_BUILDER_SIGNATURE",
    "POLY_BUILDER_TIMESTAMP",
)
_RELAYER_KEY_HEADERS = ("RELAYER_API_KEY", "RELAYER_API_KEY_ADDRESS")


class RelayerEndpoints:
    lock: threading.RLock
    clock: Callable[[], float]
    chain_id: int
    api_keys: ApiKeys
    sessions: SessionRegistry
    _deposit_owners: dict[bytes, bytes]
    _relayed: dict[str, dict[str, object]]

    # -- Python control (tests, the demo) --------------------------------------------------------

    def authorize_session_signer(
        self,
        wallet: str,
        session_key: str,
        *,
        scopes: tuple[str, ...] = (CLOB_SCOPE,),
        valid_until: int | None = None,
    ) -> None:
        """Record a grant directly, as if the owner had authorised it (default: CLOB, ~180 days)."""
        with self.lock:
            now = self.clock()
            until = int(now) + DEFAULT_LIFETIME_S if valid_until is None else valid_until
            self.sessions.grant(address_bytes(wallet), address_bytes(session_key), tuple(scopes), until, now)

    def revoke_session_signer(self, wallet: str, session_key: str) -> bool:
        with self.lock:
            return self.sessions.revoke(address_bytes(wallet), address_bytes(session_key), self.clock())

    def session_signers(self, wallet: str) -> list[dict[str, object]]:
        """The wallet's grants that may still sign (scopes, expiry), as the registry read shows them."""
        with self.lock:
            return [grant.view() for grant in self.sessions.active(address_bytes(wallet), self.clock())]

    # -- HTTP ------------------------------------------------------------------------------------

    def relayer_params(self, address: str) -> dict[str, object]:
        try:
            owner = address_bytes(address)
        except ValueError:
            raise VenueError(errors.RELAYER_INVALID_PAYLOAD) from None
        with self.lock:
            return {"address": hex_address(owner), "nonce": str(self.sessions.nonce(owner))}

    def relayer_authorise(self, headers: Mapping[str, str], payload: object) -> dict[str, object]:
        _require(headers, _BUILDER_HEADERS)
        request = parse_session_request(payload, authorise=True)
        assert request.valid_until is not None
        with self.lock:
            now = self.clock()
            owner = verify_owner_batch(
                request, chain_id=self.chain_id, now=now, registered_owner=self._deposit_owners.get
            )
            self.sessions.use_nonce(owner, request.nonce)
            self.sessions.grant(request.wallet, request.signer, request.scopes, request.valid_until, now)
            transaction = self._relay()
            return {
                "status": "REGISTERED",
                "transactionId": transaction["transaction_id"],
                "transactionHash": transaction["transaction_hash"],
            }

    def relayer_revoke(self, headers: Mapping[str, str], payload: object) -> dict[str, object]:
        if not (_present(headers, _BUILDER_HEADERS) or _present(headers, _RELAYER_KEY_HEADERS)):
            raise VenueError(errors.RELAYER_UNAUTHORIZED, 401)
        request = parse_session_request(payload, authorise=False)
        with self.lock:
            now = self.clock()
            owner = verify_owner_batch(
                request, chain_id=self.chain_id, now=now, registered_owner=self._deposit_owners.get
            )
            self.sessions.use_nonce(owner, request.nonce)
            if not self.sessions.revoke(request.wallet, request.signer, now):
                raise VenueError(errors.SESSION_SIGNER_NOT_FOUND)
            transaction = self._relay()
            return {"status": "CONFIRMED", "fenced": True, "transactionId": transaction["transaction_id"]}

    def relayer_transaction(self, transaction_id: str) -> dict[str, object]:
        with self.lock:
            found = self._relayed.get(transaction_id)
            if found is None:
                raise VenueError(errors.TRANSACTION_NOT_FOUND, 404)
            return dict(found)

    def session_signers_of_key(self, credentials: ApiCredentials) -> dict[str, object]:
        """The registry read behind ``GET /v1/user/session-signers`` for an authenticated API key."""
        with self.lock:
            now = self.clock()
            caller = address_bytes(credentials.address)
            wallet = self.sessions.wallet_of_signer(caller) or self._owned_wallet(caller)
            return dict(signers_view(wallet, self.sessions.active(wallet, now)))

    def rpc(self, payload: object) -> dict[str, object]:
        request_id = payload.get("id") if isinstance(payload, dict) else None
        method = payload.get("method") if isinstance(payload, dict) else None
        with self.lock:
            now = int(self.clock())
            if method == "eth_chainId":
                result: object = hex(self.chain_id)
            elif method == "eth_getBlockByNumber":
                result = {"number": hex(now), "timestamp": hex(now), "hash": "0x" + now.to_bytes(32, "big").hex()}
            else:
                return {"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": "method not found"}}
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _owned_wallet(self, owner: bytes) -> bytes:
        declared = [wallet for wallet, declared_owner in self._deposit_owners.items() if declared_owner == owner]
        if declared:
            return declared[0]
        beacon, legacy = deposit_wallets(owner)
        return legacy if self.sessions.has_grants(legacy) and not self.sessions.has_grants(beacon) else beacon

    def _relay(self) -> dict[str, object]:
        transaction_id = str(uuid.uuid4())
        record: dict[str, object] = {
            "state": "STATE_CONFIRMED",
            "transaction_hash": "0x" + uuid.uuid4().hex + uuid.uuid4().hex,
            "transaction_id": transaction_id,
        }
        self._relayed[transaction_id] = record
        return record


def _present(headers: Mapping[str, str], names: tuple[str, ...]) -> bool:
    return all(headers.get(name) for name in names)


def _require(headers: Mapping[str, str], names: tuple[str, ...]) -> None:
    # The simulator holds no builder keys: it requires the headers, it cannot check their HMAC.
    if not _present(headers, names):
        raise VenueError(errors.RELAYER_UNAUTHORIZED, 401)


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise VenueError(errors.RELAYER_INVALID_PAYLOAD) from None


def add_routes(
    app: web.Application,
    venue_of: Callable[[web.Request], Any],
    respond: Callable[[object], web.Response],
    l2: Callable[[web.Request], Any],
) -> None:
    """Register the relayer and registry routes on the venue's app (handlers stay thin)."""
    json_body = _json_body

    async def params(request: web.Request) -> web.Response:
        return respond(venue_of(request).relayer_params(request.query.get("address", "")))

    async def authorise(request: web.Request) -> web.Response:
        body = json_body(await request.read())
        return respond(venue_of(request).relayer_authorise(request.headers, body))

    async def revoke(request: web.Request) -> web.Response:
        body = json_body(await request.read())
        return respond(venue_of(request).relayer_revoke(request.headers, body))

    async def transaction(request: web.Request) -> web.Response:
        return respond(venue_of(request).relayer_transaction(request.match_info["transaction_id"]))

    async def signers(request: web.Request) -> web.Response:
        credentials, _body = await l2(request)
        return respond(venue_of(request).session_signers_of_key(credentials))

    async def rpc(request: web.Request) -> web.Response:
        return respond(venue_of(request).rpc(json_body(await request.read())))

    app.router.add_get("/v1/account/transactions/params", params)
    app.router.add_post("/v1/session-signers/authorizations", authorise)
    app.router.add_post("/v1/session-signers/revocations", revoke)
    app.router.add_get("/v1/account/transactions/{transaction_id}", transaction)
    app.router.add_get("/v1/user/session-signers", signers)
    app.router.add_post("/rpc", rpc)
