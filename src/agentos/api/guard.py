"""Refusing requests a browser was tricked into sending: a `Host` the server does not
serve (DNS rebinding), and state-changing requests from another origin (CSRF)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from agentos.api.auth import UNSAFE


def _hostname(authority: str) -> str:
    """The host of `host[:port]` or `[v6]:port`, lowercase, without brackets or port."""
    host = urlsplit(f"//{authority}").hostname
    return (host or "").lower().rstrip(".")


def _host_allowed(host: str, allowed: Sequence[str]) -> bool:
    for pattern in allowed:
        p = pattern.lower().strip("[]")
        if p == "*" or host == p or (p.startswith("*.") and host.endswith(p[1:])):
            return True
    return False


def _origin_authority(origin: str) -> str | None:
    """`host:port` of an Origin header (default ports filled in); None when opaque."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return f"{parts.hostname.lower()}:{port}"


def _request_authority(host_header: str, scheme: str) -> str:
    parts = urlsplit(f"//{host_header}")
    try:
        port = parts.port or (443 if scheme in ("https", "wss") else 80)
    except ValueError:
        port = -1
    return f"{(parts.hostname or '').lower()}:{port}"


class RequestGuard:
    """ASGI middleware: 403 for a disallowed Host (when `allowed_hosts` is given), and for
    a state-changing request whose Origin is not the request's own host:port or whose
    Sec-Fetch-Site is `cross-site`."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] | None = None) -> None:
        self.app = app
        self.allowed_hosts = list(allowed_hosts) if allowed_hosts is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        await JSONResponse({"detail": problem}, status_code=403)(scope, receive, send)

    def _problem(self, scope: Scope) -> str | None:
        headers = Headers(scope=scope)
        host_header = headers.get("host", "")
        if self.allowed_hosts is not None:
            host = _hostname(host_header)
            if not _host_allowed(host, self.allowed_hosts):
                return (
                    f"host {host_header!r} is not served here: allow it with "
                    "agentos serve --allowed-hosts (or AGENTOS_ALLOWED_HOSTS)"
                )
        if scope.get("method", "GET") not in UNSAFE:
            return None
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return "cross-site request refused"
        origin = headers.get("origin")
        if origin is not None:
            own = _request_authority(host_header, scope.get("scheme", "http"))
            if _origin_authority(origin) != own:
                return f"cross-origin request refused: origin {origin!r} is not this server"
        return None
