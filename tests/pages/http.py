"""A client that speaks real HTTP to the live server, the way a reverse proxy forwards a browser:
one cookie jar per visitor, the form's CSRF token, and the proxy's ``X-Forwarded-For`` line."""

from __future__ import annotations

import re

import httpx

_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Visitor:
    """One browser at ``address`` behind our TLS proxy, which appends that address to whatever
    ``X-Forwarded-For`` the browser itself sent (``claims``, a spoofing attempt)."""

    def __init__(self, base_url: str, address: str, *, claims: str = "") -> None:
        self.address = address
        self.claims = claims
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)

    def _headers(self) -> dict[str, str]:
        forwarded = f"{self.claims}, {self.address}" if self.claims else self.address
        return {"X-Forwarded-For": forwarded}

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path, headers=self._headers())

    def submit(self, path: str, data: dict[str, str]) -> httpx.Response:
        """GET the form (for its CSRF token and cookie), then POST it, like a browser."""
        page = self.get(path)
        match = _TOKEN.search(page.text)
        assert match is not None, f"no CSRF token on {path} ({page.status_code})"
        return self.http.post(path, data={**data, "csrfmiddlewaretoken": match.group(1)}, headers=self._headers())

    def close(self) -> None:
        self.http.close()
