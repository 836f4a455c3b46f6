"""The order path's ``http.client`` pool against real peers on 127.0.0.1: never sent vs answer lost.

Never sent (``NotSent``) only when no byte of the request can have left; from the first write on,
any failure is ``AnswerLost`` and the request is not repeated. A kept-alive connection the server
closed while it sat idle is noticed before writing and replaced (the request goes out once).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from execution.venue.errors import AnswerLost, NotSent
from execution.venue.pool import MAX_IDLE_SECONDS, ConnectionPool
from tests.execution.venue.localserver import HangUpServer, KeepAliveServer, SilentServer, closed_port

BODY = b'{"order": "signed bytes"}'


# A generous read timeout: these peers answer, hang up or reset at once, and a loaded machine must
# not turn that into a read timeout. Only the silent peer's test waits for the timeout.
def _pool(*, connect: str = "0.5", read: str = "5", max_connections: int = 10) -> ConnectionPool:
    return ConnectionPool(connect_timeout=Decimal(connect), read_timeout=Decimal(read), max_connections=max_connections)


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    pool = _pool()
    yield pool
    pool.close()


def _server(script: list[str] | None = None, *, idle_close: float | None = None) -> Iterator[KeepAliveServer]:
    server = KeepAliveServer(script, idle_close=idle_close)
    yield server
    server.close()


@pytest.fixture
def server() -> Iterator[KeepAliveServer]:
    yield from _server()


def test_it_keeps_one_connection_alive_for_consecutive_requests(pool: ConnectionPool, server: KeepAliveServer) -> None:
    answers = [pool.send("POST", server.url + "/order", content=BODY, headers={"X-Test": "1"}) for _ in range(5)]
    assert [(a.status, a.body) for a in answers] == [(200, {"request": n}) for n in range(1, 6)]
    assert server.connections == 1
    assert pool.idle_count == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert body == BODY
    assert head.startswith(b"POST /order HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 25" in head
    assert b"\r\nX-Test: 1" in head


def test_lookups_carry_their_query_and_get_json_numbers_as_decimal(
    pool: ConnectionPool, server: KeepAliveServer
) -> None:
    answer = pool.send("GET", server.url + "/data/order/0xab?x=1", params={"token_id": "7 8"})
    assert answer.body == {"request": 1}
    assert server.requests[0].startswith(b"GET /data/order/0xab?x=1&token_id=7+8 HTTP/1.1\r\n")


def test_a_closed_port_is_never_sent(pool: ConnectionPool) -> None:
    with pytest.raises(NotSent, match="ConnectError"):
        pool.send("POST", f"http://127.0.0.1:{closed_port()}/order", content=BODY)
    assert pool.idle_count == 0


def test_a_connect_timeout_is_never_sent(pool: ConnectionPool) -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs, the connect times out.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        queued = [socket.socket() for _ in range(4)]
        for waiting in queued:
            waiting.setblocking(False)
            waiting.connect_ex(listener.getsockname())
        try:
            with pytest.raises(NotSent, match="ConnectTimeout"):
                pool.send("POST", f"http://127.0.0.1:{listener.getsockname()[1]}/order", content=BODY)
        finally:
            for waiting in queued:
                waiting.close()


def test_a_silent_server_loses_the_answer_after_the_request_arrived() -> None:
    pool = _pool(read="0.3")
    silent = SilentServer()
    try:
        with pytest.raises(AnswerLost, match="ReadTimeout"):
            pool.send("POST", silent.url + "/order", content=BODY)
        assert silent.requests == 1
    finally:
        silent.close()
        pool.close()


def test_a_server_hanging_up_after_the_request_loses_the_answer(pool: ConnectionPool) -> None:
    hang_up = HangUpServer()
    try:
        with pytest.raises(AnswerLost, match="RemoteDisconnected"):
            pool.send("POST", hang_up.url + "/order", content=BODY)
        assert hang_up.requests == 1
        # Headers and body leave in one write (one segment): the peer's single read got it all.
        assert hang_up.first_reads[0].endswith(b"\r\n\r\n" + BODY)
    finally:
        hang_up.close()


@pytest.mark.parametrize(("action", "error"), [("truncate", "IncompleteRead"), ("reset", "ConnectionResetError")])
def test_a_truncated_or_reset_answer_is_lost(pool: ConnectionPool, action: str, error: str) -> None:
    for server in _server([action]):
        with pytest.raises(AnswerLost, match=error):
            pool.send("POST", server.url + "/order", content=BODY)
        assert len(server.requests) == 1
    assert pool.idle_count == 0  # a connection that failed is never reused


def test_an_idle_connection_the_server_closed_is_replaced_before_writing(pool: ConnectionPool) -> None:
    for server in _server(idle_close=0.1):
        assert pool.send("POST", server.url + "/order", content=BODY).status == 200
        deadline = time.monotonic() + 5
        while server.closed == 0 and time.monotonic() < deadline:  # the server closes it meanwhile
            time.sleep(0.02)
        assert server.closed == 1
        time.sleep(0.05)  # let its FIN reach our side of the connection
        answer = pool.send("POST", server.url + "/order", content=BODY)
        assert (answer.status, answer.body) == (200, {"request": 2})
        assert (server.connections, len(server.requests)) == (2, 2)  # sent once, on a fresh connection


def test_a_kept_connection_dropped_after_the_request_was_written_is_not_retried(pool: ConnectionPool) -> None:
    # The server takes the second request on the kept connection and closes it: to the client it
    # looks like a stale keep-alive close, but the bytes were written, so the answer is lost.
    for server in _server(["answer", "hang_up"]):
        assert pool.send("POST", server.url + "/order", content=BODY).status == 200
        with pytest.raises(AnswerLost, match="RemoteDisconnected"):
            pool.send("POST", server.url + "/order", content=BODY)
        assert (server.connections, len(server.requests)) == (1, 2)


def test_a_connection_idle_too_long_is_not_reused(pool: ConnectionPool, server: KeepAliveServer) -> None:
    pool.send("GET", server.url + "/time")
    conn, since = pool._idle[("http", "127.0.0.1", server.port)][0]
    pool._idle[("http", "127.0.0.1", server.port)][0] = (conn, since - MAX_IDLE_SECONDS - 1)
    pool.send("GET", server.url + "/time")
    assert server.connections == 2


def test_a_full_pool_is_never_sent_and_frees_its_slot() -> None:
    pool = _pool(connect="0.2", read="2", max_connections=1)
    silent = SilentServer()
    try:
        outcome: list[BaseException] = []

        def hold() -> None:
            try:
                pool.send("POST", silent.url + "/a")
            except (AnswerLost, NotSent) as exc:
                outcome.append(exc)

        holder = threading.Thread(target=hold)
        holder.start()
        time.sleep(0.3)  # the only connection is busy waiting for the silent server's answer
        for server in _server():
            with pytest.raises(NotSent, match="PoolTimeout"):
                pool.send("POST", server.url + "/order", content=BODY)
            assert server.connections == 0
            holder.join()
            assert [type(exc) for exc in outcome] == [AnswerLost]
            assert pool.send("POST", server.url + "/order", content=BODY).status == 200
    finally:
        silent.close()
        pool.close()


@pytest.mark.parametrize(
    ("url", "headers", "error"),
    [
        ("ftp://127.0.0.1/x", {}, "UnsupportedProtocol"),
        ("http://127.0.0.1:99999/x", {}, "InvalidURL"),
        (None, {"X-Bad": "a\r\nInjected: 1"}, "InvalidRequest"),
    ],
)
def test_requests_refused_before_writing_are_never_sent(
    pool: ConnectionPool, server: KeepAliveServer, url: str | None, headers: dict[str, str], error: str
) -> None:
    with pytest.raises(NotSent, match=error):
        pool.send("POST", url or server.url + "/order", content=BODY, headers=headers)
    assert server.requests == []


def test_a_forked_child_does_not_share_the_parents_connections(pool: ConnectionPool, server: KeepAliveServer) -> None:
    pool.send("GET", server.url + "/time")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover  (runs in the child)
        os.write(write, str(pool.idle_count).encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read, 8) == b"0"
    assert pool.idle_count == 1
