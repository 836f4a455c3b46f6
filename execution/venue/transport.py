"""Our own HTTP transport to the venue's reads: one shared keep-alive ``httpx.Client``, explicit
timeouts. Orders and order lookups use ``pool.py`` (``http.client``, same contract, less CPU).

The point of owning the transport is to tell apart what the SDK folds into one TransportError:

- ``NotSent``: nothing left this process (connection refused, connect timeout, no free pooled
  connection within the pool timeout, unusable URL). An order was *not* placed.
- ``AnswerLost``: the request may have reached the venue but no complete answer came back
  (read/write timeout, connection reset or closed mid-answer). An order's outcome is unknown.
- an ``HttpAnswer`` otherwise, whatever its status.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import httpx

from execution.venue.classify import RawBody
from execution.venue.errors import AnswerLost, NotSent

# Errors raised before any byte of the request was written.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_MAX_CONNECTIONS = 100

_clients: dict[tuple[Decimal, Decimal], httpx.Client] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class HttpAnswer:
    """A complete HTTP answer. ``body`` is the parsed JSON value, or RawBody when empty/not JSON."""

    status: int
    body: object
    headers: Mapping[str, str]


def shared_client(*, connect_timeout: Decimal, read_timeout: Decimal) -> httpx.Client:
    """The process-wide client for these timeouts (thread-safe; httpx.Client is thread-safe).

    ``trust_env=False``: proxy or CA variables in the environment never reroute venue traffic.
    """
    key = (connect_timeout, read_timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None or client.is_closed:
            client = _clients[key] = new_client(connect_timeout=connect_timeout, read_timeout=read_timeout)
        return client


def new_client(*, connect_timeout: Decimal, read_timeout: Decimal) -> httpx.Client:
    connect, read = float(connect_timeout), float(read_timeout)
    return httpx.Client(
        timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
        limits=httpx.Limits(max_connections=_MAX_CONNECTIONS, max_keepalive_connections=_MAX_CONNECTIONS),
        trust_env=False,
        follow_redirects=False,
    )


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """One request, no retry. Raises NotSent or AnswerLost (messages carry no headers)."""
    try:
        response = client.request(method, url, params=params, content=content, headers=headers)
    except _NEVER_SENT as exc:
        raise NotSent(f"{method} {_path(url)} not sent: {type(exc).__name__}: {exc}") from None
    except httpx.InvalidURL as exc:
        raise NotSent(f"{method} {_path(url)} not sent: invalid URL: {exc}") from None
    except httpx.TransportError as exc:
        raise AnswerLost(f"{method} {_path(url)}: no answer: {type(exc).__name__}: {exc}") from None
    return HttpAnswer(status=response.status_code, body=parse_body(response.content), headers=response.headers)


def parse_body(content: bytes) -> object:
    """JSON with numbers as Decimal (never float); RawBody when empty or not JSON."""
    if not content.strip():
        return RawBody("")
    try:
        return json.loads(content, parse_float=Decimal)
    except ValueError:
        return RawBody(content.decode("utf-8", errors="replace"))


def _path(url: str) -> str:
    return url.split("?", 1)[0]
