"""An HTTP JSON-RPC endpoint over the local EVM, as a Polygon RPC provider is to production."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from web3 import Web3

from tests.copytrading.detection.evm import Evm


class RpcNode:
    def __init__(self, evm: Evm) -> None:
        w3 = evm.w3

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
                try:
                    # Through web3's own request/result formatters: raw JSON-RPC in, JSON out.
                    result = w3.manager.request_blocking(request["method"], request.get("params", []))
                    body["result"] = json.loads(Web3.to_json(result))
                except Exception as exc:
                    body["error"] = {"code": -32000, "message": str(exc)}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
