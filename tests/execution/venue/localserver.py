"""Tiny real HTTP peers on 127.0.0.1 for transport tests (no mocks of our code).

``LocalVenue`` answers from a route table and counts requests per path; ``SilentServer`` accepts
connections, reads the request and never answers (a read timeout); ``HangUpServer`` reads the
request and closes the connection without a byte (the answer is lost after sending);
``KeepAliveServer`` keeps HTTP/1.1 connections open and follows a per-request script (answer,
hang up, truncate, reset, stay silent) and may close idle connections, for the connection pool.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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
        self.first_reads: list[bytes] = []
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
                data = conn.recv(65536)  # one read: what arrived in the request's first segment
                if data:
                    self.requests += 1
                    self.first_reads.append(data)
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


class KeepAliveServer:
    """An HTTP/1.1 peer that keeps connections open, with a script of what to do per request.

    Each request (in arrival order, over all connections) takes the next action of ``script``
    (the last one repeats): ``answer`` (200 with a JSON body, connection kept), ``hang_up``
    (read the request, close without a byte), ``truncate`` (headers promise more body than is
    sent, then close), ``reset`` (read the request, then abort the connection with a TCP RST),
    ``silent`` (read the request, never answer). ``idle_close`` closes a kept connection after
    that many seconds without a request, as servers do with idle keep-alive connections.
    """

    def __init__(self, script: list[str] | None = None, *, idle_close: float | None = None) -> None:
        self.script = list(script or ["answer"])
        self.idle_close = idle_close
        self.connections = 0
        self.closed = 0  # connections this server has closed (or lost)
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            with self._lock:
                self.connections += 1
                self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _next_action(self, request: bytes) -> str:
        with self._lock:
            self.requests.append(request)
            index = len(self.requests) - 1
            return self.script[min(index, len(self.script) - 1)]

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stop.is_set():
                conn.settimeout(self.idle_close if self.idle_close is not None else 5.0)
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(rest) < length:
                    rest += conn.recv(65536)
                buffer = rest[length:]
                action = self._next_action(head + b"\r\n\r\n" + rest[:length])
                if action == "hang_up":
                    return
                if action == "silent":
                    self._stop.wait(10)
                    return
                if action == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                body = json.dumps({"request": len(self.requests)}).encode()
                declared = len(body) + (10 if action == "truncate" else 0)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {declared}\r\n\r\n".encode()
                    + body
                )
                if action == "truncate":
                    return
        except OSError:
            return  # idle timeout (the idle close), or the client went away
        finally:
            conn.close()
            with self._lock:
                self.closed += 1

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            for conn in self._open:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._listener.close()
