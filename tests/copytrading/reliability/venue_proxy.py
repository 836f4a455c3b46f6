"""A recording pass-through in front of the simulated venue (127.0.0.1 only).

The simulator keeps the orders it accepted, but not every request it received (a FAK that found
nothing is not stored, a duplicate is refused): to prove that no second order hash ever reached
the venue (I1) and that no POST started after the kill switch was visible (S29), the tests need
every order POST as the venue saw it. The proxy forwards each request unchanged and records
order POSTs with the time they arrived. It can also stand in for network and venue behaviour the
simulator has no knob for, each time on an explicit, counted instruction:

- ``reset``: read the request, then close the connection without forwarding it (the request
  never reached the venue, and the client cannot tell: S4);
- ``null``: answer ``200 null`` to an order lookup without asking the venue (the venue's read
  side lagging behind its write side: "not found" is not proof, S6);
- ``patch``: forward, then overwrite fields of the JSON answer (a market resolving under an
  order, which the simulator cannot do: S25).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

ORDER_PATHS = ("/order", "/orders")


@dataclass(frozen=True)
class OrderPost:
    """One order POST as it arrived: when, what, and whether it was passed on to the venue."""

    at: float
    path: str
    body: str
    forwarded: bool


@dataclass
class ProxyFault:
    kind: str  # reset | null | patch
    method: str
    path_prefix: str
    count: int
    patch: dict[str, Any] = field(default_factory=dict)
    hits: int = 0


class VenueProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname == "127.0.0.1", "the proxy only ever talks to the local simulator"
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self._lock = threading.Lock()
        self._posts: list[OrderPost] = []
        self._reads: list[str] = []
        self._faults: list[ProxyFault] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="venue-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> VenueProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self._posts.clear()
            self._reads.clear()
            self._faults.clear()

    # Instructions

    def add_fault(
        self, kind: str, method: str, path_prefix: str, *, count: int = 1, patch: dict[str, Any] | None = None
    ) -> ProxyFault:
        assert kind in ("reset", "null", "patch")
        fault = ProxyFault(kind=kind, method=method, path_prefix=path_prefix, count=count, patch=patch or {})
        with self._lock:
            self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> ProxyFault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and fault.method == method and path.startswith(fault.path_prefix):
                    fault.count -= 1
                    fault.hits += 1
                    return fault
        return None

    # Records

    def order_posts(self) -> list[OrderPost]:
        with self._lock:
            return list(self._posts)

    def reads(self, path_prefix: str) -> int:
        """How many GET requests for paths starting with ``path_prefix`` arrived."""
        with self._lock:
            return sum(1 for path in self._reads if path.startswith(path_prefix))

    def _record_read(self, path: str) -> None:
        with self._lock:
            self._reads.append(path)

    def _record(self, post: OrderPost) -> None:
        with self._lock:
            self._posts.append(post)


def _handler_for(proxy: VenueProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._relay()

        def do_POST(self) -> None:
            self._relay()

        def do_DELETE(self) -> None:
            self._relay()

        def _relay(self) -> None:
            arrived = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            fault = proxy._take_fault(self.command, path)
            is_order_post = self.command == "POST" and path in ORDER_PATHS
            forwarded = fault is None or fault.kind == "patch"
            if self.command == "GET":
                proxy._record_read(path)
            if is_order_post:
                proxy._record(OrderPost(at=arrived, path=path, body=body.decode(), forwarded=forwarded))
            if fault is not None and fault.kind == "reset":
                self._hang_up()
                return
            if fault is not None and fault.kind == "null":
                self._answer(200, b"null", {"Content-Type": "application/json"})
                return
            try:
                status, headers, answer = self._forward(body)
            except (OSError, http.client.HTTPException):
                self._hang_up()  # the venue closed without answering: so does the proxy
                return
            if fault is not None and fault.kind == "patch" and status == 200:
                decoded = json.loads(answer)
                if isinstance(decoded, dict):
                    decoded.update(fault.patch)
                    answer = json.dumps(decoded).encode()
            self._answer(status, answer, headers)

        def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
            upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                answer = response.read()
                kept = {k: v for k, v in response.getheaders() if k.lower() in ("content-type", "retry-after")}
                return response.status, kept, answer
            finally:
                upstream.close()

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True  # the client gave up (read timeout, or it was killed)

        def _hang_up(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                return

    return Handler
