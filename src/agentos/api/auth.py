"""Optional bearer token: every endpoint but /health requires it when one is set.

API clients send `Authorization: Bearer <token>`. A browser opens the dashboard once as
`/dashboard?token=<token>`: the page then sets an HttpOnly, SameSite=Strict cookie that
the page's own requests (fetch, EventSource) carry from there on.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

COOKIE = "agentos_token"

_bearer = HTTPBearer(auto_error=False, description="the server's AGENTOS_API_TOKEN")


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


async def require_token(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Raise 401 unless the request carries the server's token (when it has one)."""
    token: str | None = request.app.state.token
    if token is None:
        return
    given = creds.credentials if creds is not None else request.cookies.get(COOKIE)
    if _same(given, token):
        return
    if request.url.path.startswith("/dashboard") and _same(
        request.query_params.get("token"), token
    ):
        request.state.set_cookie = True
        return
    raise HTTPException(
        401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
    )


def remember(request: Request, response: Response) -> None:
    """Set the token cookie when the dashboard was opened with `?token=`."""
    if getattr(request.state, "set_cookie", False):
        response.set_cookie(
            COOKIE, request.app.state.token, httponly=True, samesite="strict", path="/"
        )
