"""A JSON-RPC WebSocket peer of ours over the node's data, for what anvil's own WebSocket never does.

anvil (1.7) pushes heads and logs but never re-sends logs with ``removed: true`` in a reorg
(Polygon's bor nodes do) and cannot drop its connections on request; this peer does both, on
blocks and logs read from the node. The subscription to anvil itself is tested in
test_on_the_node.py.

It answers ``eth_subscribe`` for ``newHeads`` and ``logs`` (address/topics filter) and pushes a
block's header and matching logs when the test says the block arrived; it can send the same
logs again with ``removed: true`` (what a node does in a reorg) and drop every connection.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from eth_utils.address import to_checksum_address
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from tests.copytrading.detection.evm import Evm


def _hex(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return hex(value)
    if isinstance(value, list):
        return [_hex(v) for v in value]
    return value


def jsonrpc_log(log: Mapping[str, Any], *, removed: bool = False) -> dict[str, Any]:
    fields = (
        "address",
        "topics",
        "data",
        "blockNumber",
        "blockHash",
        "transactionHash",
        "transactionIndex",
        "logIndex",
    )
    return {**{k: _hex(log[k]) for k in fields}, "removed": removed}


class WsNode:
    def __init__(self, evm: Evm) -> None:
        self.evm = evm
        self._lock = threading.Lock()
        self._clients: dict[ServerConnection, dict[str, list[Any]]] = {}
        self.server = serve(self._handle, "127.0.0.1", 0, compression=None)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=5)

    @property
    def subscriptions(self) -> int:
        with self._lock:
            return sum(len(subs) for subs in self._clients.values())

    def _handle(self, conn: ServerConnection) -> None:
        subs: dict[str, list[Any]] = {}
        with self._lock:
            self._clients[conn] = subs
        try:
            for raw in conn:
                request = json.loads(raw)
                if request.get("method") == "eth_subscribe":
                    sub_id = "0x" + secrets.token_hex(16)
                    with self._lock:
                        subs[sub_id] = request["params"]
                    conn.send(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": sub_id}))
                else:
                    error = {"code": -32601, "message": "method not found"}
                    conn.send(json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "error": error}))
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._clients.pop(conn, None)

    def publish_block(self, number: int | None = None) -> list[dict[str, Any]]:
        """Push block ``number`` (default: the head): its matching logs first, then its header."""
        block = self.evm.w3.eth.get_block(number if number is not None else "latest")
        sent: list[dict[str, Any]] = []
        for conn, subs in self._snapshot():
            for sub_id, params in subs.items():
                if params[0] == "logs":
                    # A node takes addresses in any case; web3 (our bridge to py-evm) wants checksums.
                    addresses = [to_checksum_address(a) for a in params[1].get("address", [])]
                    query: Any = {
                        **params[1],
                        "address": addresses,
                        "fromBlock": block["number"],
                        "toBlock": block["number"],
                    }
                    for log in self.evm.w3.eth.get_logs(query):
                        sent.append(jsonrpc_log(log))
                        self._notify(conn, sub_id, sent[-1])
            for sub_id, params in subs.items():
                if params[0] == "newHeads":
                    header = {
                        "number": hex(block["number"]),
                        "hash": _hex(block["hash"]),
                        "parentHash": _hex(block["parentHash"]),
                    }
                    self._notify(conn, sub_id, header)
        return sent

    def publish_removed(self, logs: list[dict[str, Any]]) -> None:
        for conn, subs in self._snapshot():
            for sub_id, params in subs.items():
                if params[0] == "logs":
                    for log in logs:
                        self._notify(conn, sub_id, {**log, "removed": True})

    def drop_connections(self) -> None:
        for conn, _ in self._snapshot():
            conn.close()

    def _snapshot(self) -> list[tuple[ServerConnection, dict[str, list[Any]]]]:
        with self._lock:
            return [(conn, dict(subs)) for conn, subs in self._clients.items()]

    @staticmethod
    def _notify(conn: ServerConnection, sub_id: str, result: Mapping[str, Any]) -> None:
        message = {"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": sub_id, "result": result}}
        with contextlib.suppress(ConnectionClosed):
            conn.send(json.dumps(message))
