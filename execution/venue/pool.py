"""A small keep-alive connection pool on ``http.client`` for orders (POST) and order lookups.

Why not the shared httpx client: httpx spends ~0.5 ms of CPU per request on this path (its
request/response models, header objects, hooks), ~17 % of a copy worker's CPU under load
(docs/performance.md). ``http.client`` over the same kept-alive connection does the same work
in a fraction of that. Reads (books, markets, trades) stay on httpx (``transport.send``).

The contract is ``transport.send``'s, phase by phase:

- ``NotSent`` — nothing of the request can have left this process: unusable URL, no free
  connection within the pool timeout (= the connect timeout), connection refused or timed out
  (TLS handshake included), a header value http.client refuses to put on the wire. Every one of
  these happens before the first byte of the request is handed to the socket.
- ``AnswerLost`` — from the moment the request is handed to the socket: a write or read error
  or timeout, the server closing or resetting the connection, a truncated or unreadable answer.
  The venue may have received (and acted on) the request; only a lookup can tell.
- an ``HttpAnswer`` otherwise, whatever its status.

Stale keep-alive connections (the rule): a server may close a connection that sat idle in the
pool. Before a pooled connection is reused it is polled without waiting; readable means the
server closed it (EOF), reset it, or sent something unasked — either way it is closed and the
request goes on another connection, which is safe because nothing was written on the stale one.
Once the request has been written, a failure is ``AnswerLost`` even on a connection that turns
out to have been closed by the server: the close may have raced our bytes, and a POST is not
repeated on a guess (the reconciler looks the order up and resends the same bytes if the venue
never saw it). Connections idle longer than ``MAX_IDLE_SECONDS`` are not reused at all.
"""

from __future__ import annotations

import os
import select
import ssl
import threading
import time
import weakref
from collections.abc import Mapping
from decimal import Decimal
from http.client import HTTPConnection, HTTPException, HTTPSConnection, RemoteDisconnected
from typing import Any
from urllib.parse import urlencode, urlsplit

from execution.venue.errors import AnswerLost, NotSent
from execution.venue.transport import HttpAnswer, parse_body

# httpx's keep-alive expiry (5 s), which this pool replaces on the order path: the same window
# in which a server's idle close can race a reuse as before.
MAX_IDLE_SECONDS = 5.0
MAX_CONNECTIONS = 100
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_DEFAULT_HEADERS = {"Accept": "*/*", "User-Agent": "polyhunter"}

Origin = tuple[str, str, int]


class _OneWrite(HTTPConnection):
    """Request line, headers and body in one write. http.client writes the body separately: a
    second syscall and, with TCP_NODELAY, a second segment for every order."""

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if not isinstance(message_body, bytes):
            super()._send_output(message_body, encode_chunked)  # type: ignore[misc]  # private, untyped
            return
        buffer: list[bytes] = self._buffer  # type: ignore[attr-defined]  # http.client's header buffer
        buffer.extend((b"", b""))
        request = b"\r\n".join(buffer) + message_body
        del buffer[:]
        self.send(request)


class _HTTPSOneWrite(_OneWrite, HTTPSConnection):
    pass


class ConnectionPool:
    """Thread-safe pool of keep-alive connections per origin; each connection serves one request
    at a time. ``max_connections`` counts connections in use and idle, over all origins."""

    def __init__(
        self, *, connect_timeout: Decimal, read_timeout: Decimal, max_connections: int = MAX_CONNECTIONS
    ) -> None:
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.max_connections = max_connections
        self._reset()
        _every_pool.add(self)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._idle: dict[Origin, list[tuple[HTTPConnection, float]]] = {}
        self._open = 0

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpAnswer:
        """One request, no retry. Raises NotSent or AnswerLost (messages carry no headers)."""
        where = f"{method} {url.split('?', 1)[0]}"
        origin, target = _split(url, params, where)
        conn = self._checkout(origin, where)
        try:
            _put_request(conn, method, target, content, headers, where)
            answer = _exchange(conn, content, where)
        except BaseException:  # also a worker's time limit, raised asynchronously in the thread
            self._discard(conn)
            raise
        if conn.sock is None:  # the answer said the server closes it (http.client let it go)
            self._discard(conn)
        else:
            self._checkin(origin, conn)
        return answer

    @property
    def idle_count(self) -> int:
        with self._cond:
            return sum(len(conns) for conns in self._idle.values())

    def close(self) -> None:
        with self._cond:
            for conns in self._idle.values():
                for conn, _ in conns:
                    conn.close()
                    self._open -= 1
            self._idle.clear()
            self._cond.notify_all()

    def _checkout(self, origin: Origin, where: str) -> HTTPConnection:
        deadline = time.monotonic() + self.connect_timeout
        with self._cond:
            while True:
                conn = self._reusable(origin)
                if conn is not None:
                    return conn
                if self._open < self.max_connections:
                    self._open += 1
                    break
                if not self._evict_idle():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise NotSent(f"{where} not sent: PoolTimeout: all {self.max_connections} connections busy")
                    self._cond.wait(remaining)
        try:
            return self._connect(origin, where)
        except BaseException:
            self._release_slot()
            raise

    def _reusable(self, origin: Origin) -> HTTPConnection | None:
        """The most recently used idle connection still open, closing stale ones (nothing was
        written on them, see the module's rule). Called with the lock held."""
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn, since = idle.pop()
            if now - since <= MAX_IDLE_SECONDS and not _dropped(conn):
                return conn
            conn.close()
            self._open -= 1
        return None

    def _evict_idle(self) -> bool:
        """Make room by closing the oldest idle connection of any origin. Lock held."""
        oldest: tuple[float, Origin] | None = None
        for origin, conns in self._idle.items():
            if conns and (oldest is None or conns[0][1] < oldest[0]):
                oldest = (conns[0][1], origin)
        if oldest is None:
            return False
        conn, _ = self._idle[oldest[1]].pop(0)
        conn.close()
        self._open -= 1
        return True

    def _connect(self, origin: Origin, where: str) -> HTTPConnection:
        scheme, host, port = origin
        conn: HTTPConnection
        if scheme == "https":
            conn = _HTTPSOneWrite(host, port, timeout=self.connect_timeout, context=_tls_context())
        else:
            conn = _OneWrite(host, port, timeout=self.connect_timeout)
        # Never reconnect implicitly inside a send: a silent reconnect would blur the phases.
        conn.auto_open = 0
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise NotSent(f"{where} not sent: ConnectTimeout: {exc}") from None
        except (OSError, HTTPException) as exc:  # refused, unreachable, DNS, TLS handshake
            conn.close()
            raise NotSent(f"{where} not sent: ConnectError: {exc}") from None
        assert conn.sock is not None
        conn.sock.settimeout(self.read_timeout)  # writes and reads from here on
        return conn

    def _checkin(self, origin: Origin, conn: HTTPConnection) -> None:
        with self._cond:
            self._idle.setdefault(origin, []).append((conn, time.monotonic()))
            self._cond.notify()

    def _discard(self, conn: HTTPConnection) -> None:
        conn.close()
        self._release_slot()

    def _release_slot(self) -> None:
        with self._cond:
            self._open -= 1
            self._cond.notify()


def _split(url: str, params: Mapping[str, str] | None, where: str) -> tuple[Origin, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise NotSent(f"{where} not sent: InvalidURL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotSent(f"{where} not sent: UnsupportedProtocol: {parts.scheme or 'no scheme'}://")
    query = "&".join(q for q in (parts.query, urlencode(params) if params else "") if q)
    target = (parts.path or "/") + (f"?{query}" if query else "")
    origin = (parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))
    return origin, target


def _put_request(
    conn: HTTPConnection,
    method: str,
    target: str,
    content: bytes | None,
    headers: Mapping[str, str] | None,
    where: str,
) -> None:
    """Request line and headers into http.client's buffer: no I/O yet, so a refusal is NotSent."""
    try:
        conn.putrequest(method, target)
        for name, value in {**_DEFAULT_HEADERS, **(headers or {})}.items():
            conn.putheader(name, value)
        if content is not None or method in _BODY_METHODS:
            conn.putheader("Content-Length", str(len(content or b"")))
    except (ValueError, HTTPException) as exc:
        raise NotSent(f"{where} not sent: InvalidRequest: {type(exc).__name__}: {exc}") from None


def _exchange(conn: HTTPConnection, content: bytes | None, where: str) -> HttpAnswer:
    """Write the request and read the whole answer."""
    try:
        conn.endheaders(content)  # headers and body in one write
    except (OSError, HTTPException) as exc:
        kind = "WriteTimeout" if isinstance(exc, TimeoutError) else f"WriteError: {type(exc).__name__}"
        raise AnswerLost(f"{where}: no answer: {kind}: {exc}") from None
    try:
        response = conn.getresponse()
        body = response.read()
    except TimeoutError as exc:
        raise AnswerLost(f"{where}: no answer: ReadTimeout: {exc}") from None
    except RemoteDisconnected as exc:
        raise AnswerLost(f"{where}: no answer: RemoteDisconnected: {exc}") from None
    except (OSError, HTTPException, ValueError) as exc:  # reset, truncated, malformed (bad chunk size)
        raise AnswerLost(f"{where}: no answer: {type(exc).__name__}: {exc}") from None
    headers = {name.lower(): value for name, value in response.headers.items()}
    return HttpAnswer(status=response.status, body=parse_body(body), headers=headers)


def _dropped(conn: HTTPConnection) -> bool:
    """True when an idle connection is unusable: closed, or readable while we sent nothing."""
    sock = conn.sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


_tls: ssl.SSLContext | None = None
_tls_lock = threading.Lock()


def _tls_context() -> ssl.SSLContext:
    """Verified TLS with certifi's roots, as the httpx client used (loaded once per process)."""
    global _tls
    with _tls_lock:
        if _tls is None:
            import certifi

            _tls = ssl.create_default_context(cafile=certifi.where())
        return _tls


# A forked child (worker processes) must not share the parent's sockets: it starts empty.
_every_pool: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()


def _forget_in_child() -> None:
    for pool in list(_every_pool):
        pool._reset()


os.register_at_fork(after_in_child=_forget_in_child)


_pools: dict[tuple[Decimal, Decimal], ConnectionPool] = {}
_pools_lock = threading.Lock()


def shared_pool(*, connect_timeout: Decimal, read_timeout: Decimal) -> ConnectionPool:
    """The process-wide pool for these timeouts."""
    key = (connect_timeout, read_timeout)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ConnectionPool(connect_timeout=connect_timeout, read_timeout=read_timeout)
        return pool
