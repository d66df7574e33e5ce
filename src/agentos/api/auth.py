"""Bearer token: every endpoint but /health requires it when the app has one.

API clients send `Authorization: Bearer <token>`. A browser opens the dashboard once as
`/dashboard?token=<token>`: the page then sets an HttpOnly, SameSite=Strict cookie that
the page's own requests (fetch, EventSource) carry from there on. A state-changing
request authenticated by that cookie must also carry `X-AgentOS-Request: 1`, a header a
page of another origin cannot send without a CORS preflight (which the server never
grants). `agentos serve` keeps its token in the data dir (`token_file`), mode 0600.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentos._exceptions import InvalidInputError

COOKIE = "agentos_token"
CSRF_HEADER = "X-AgentOS-Request"
TOKEN_FILE = ".api-token"
ENV = "AGENTOS_API_TOKEN"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_bearer = HTTPBearer(auto_error=False, description="the server's AGENTOS_API_TOKEN")


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


async def require_token(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Raise 401 unless the request carries the server's token (when it has one), and 403
    for a state-changing request authenticated by the cookie alone without CSRF_HEADER."""
    token: str | None = request.app.state.token
    if token is None:
        return
    if creds is not None and _same(creds.credentials, token):
        return
    if creds is None and _same(request.cookies.get(COOKIE), token):
        if request.method in UNSAFE and request.headers.get(CSRF_HEADER) != "1":
            raise HTTPException(
                403, f"a request authenticated by the cookie needs the header {CSRF_HEADER}: 1"
            )
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


def token_file(data_dir: Path) -> Path:
    """Where `agentos serve` keeps its token: a dot-file of the data dir (never a run)."""
    return data_dir / TOKEN_FILE


def server_token(data_dir: Path) -> str:
    """AGENTOS_API_TOKEN, else the token file of `data_dir`, else a new random token
    written there (created with mode 0600, whole or not at all)."""
    given = os.environ.get(ENV)
    if given:
        return given
    path = token_file(data_dir)
    existing = _read_token(path)
    if existing is not None:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another server wrote one meanwhile
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    made = _read_token(path)
    if made is None:
        raise OSError(f"cannot read the token file {path}")
    return made


def _read_token(path: Path) -> str | None:
    """The token in `path`, None when there is no file; the file is made 0600."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd) as f:
        if os.fstat(f.fileno()).st_mode & 0o077:
            os.fchmod(f.fileno(), 0o600)
        text = f.read().strip()
    if not text:
        raise InvalidInputError(f"the token file {path} is empty: delete it to make a new token")
    return text
