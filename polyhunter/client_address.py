"""The address of the client behind our reverse proxies: what login lockouts and throttles key on.

Without a proxy (``BEHIND_TLS_PROXY=false``) it is ``REMOTE_ADDR``, and ``X-Forwarded-For`` is
ignored: anybody can send that header. Behind ``TRUSTED_PROXY_COUNT`` proxies, each appends the
address it received the request from, so the client is the entry that many places from the
right; whatever a browser put further left itself is never read. A request with fewer entries
did not come through all our proxies, and counts as ``REMOTE_ADDR`` (the last hop's address).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if not settings.BEHIND_TLS_PROXY:
        return remote
    hops = [hop.strip() for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    hops = [hop for hop in hops if hop]
    count = settings.TRUSTED_PROXY_COUNT
    if count < 1 or len(hops) < count:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote
