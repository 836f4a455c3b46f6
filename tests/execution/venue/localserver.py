"""Tiny real HTTP peers on 127.0.0.1 for transport tests (no mocks of our code).

``LocalVenue`` answers from a route table and counts requests per path; ``SilentServer`` accepts
connections, reads the request and never answers (a read timeout); ``HangUpServer`` reads the
request and closes the connection without a byte (RemoteProtocolError after sending).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: object = None
    raw: bytes | None = None
    delay: float = 0.0
    drop: bool = False  # read the request, then close the connection without a byte


Handler = Callable[[Request], Reply]


@dataclass
class LocalVenue:
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, path: str, handler: Handler | Reply) -> None:
        if isinstance(handler, Reply):
            fixed = handler

            def handler(_request: Request) -> Reply:
                return fixed

        self.routes[(method, path)] = handler

    def handle(self, request: Request) -> Reply:
        with self.lock:
            self.hits[request.path] += 1
            self.requests.append(request)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return Reply(status=404, body={"error": "not found"})
        return handler(request)


@contextmanager
def serve(venue: LocalVenue) -> Iterator[LocalVenue]:
    class _Handler(BaseHTTPRequestHandler):
        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k: v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            reply = venue.handle(request)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up first (a timeout test)

        do_GET = do_POST = do_DELETE = _dispatch  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    venue.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield venue
    finally:
        server.shutdown()
        server.server_close()


class _RawServer:
    """Accepts connections and reads the request; then ``on_request`` decides what to do."""

    def __init__(self, on_request: Callable[[socket.socket], None]) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self.requests = 0
        self._on_request = on_request
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                if conn.recv(65536):
                    self.requests += 1
            except OSError:
                pass
            self._held.append(conn)
            self._on_request(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self._listener.close()


class SilentServer(_RawServer):
    def __init__(self) -> None:
        super().__init__(lambda conn: None)


class HangUpServer(_RawServer):
    def __init__(self) -> None:
        super().__init__(lambda conn: conn.close())


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
