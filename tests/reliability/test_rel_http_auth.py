"""Authentication over every route of the app (tests/api checks a sample), and the
server's default bind address."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from fastapi.routing import APIRoute
from rel_http_server import TERMINAL, fast_graph, thread_server
from starlette.routing import Mount, Route

from agentos.api.app import create_app
from agentos.cli import cli
from agentos.cli.serve import serve_command
from agentos.routing.pool import default_pool

TOKEN = "s3cret-token-0123456789"
WRONG = "s3cret-token-0123456780"  # same length, last character differs
# public by design: liveness and the static assets (css, js); none of them carries data
# from the data dir (checked below). with a token, the schema and /docs are behind it too
PUBLIC = {"/health", "/static"}
# routes for a live run: the ended run below gets 409 once past authentication
# streams that stay open while the server runs (the runs list's live updates)
ENDLESS = {"/runs/stream"}
LIVE_RUN_ONLY = {"/runs/{run_id}/signals/{name}", "/runs/{run_id}/cancel"}


def routes() -> list[tuple[str, str]]:
    """(method, path template) of every route of the app; mounts as their prefix."""
    out: list[tuple[str, str]] = []
    todo: list[Any] = list(create_app(Path("/nonexistent"), token=TOKEN).routes)
    while todo:
        route = todo.pop(0)
        if isinstance(route, APIRoute | Route):
            out += [(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
        elif isinstance(route, Mount):
            out.append(("GET", route.path))
        elif hasattr(route, "original_router"):  # an included router (no prefixes here)
            todo += route.original_router.routes
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
    return out


def fill(path: str, run_id: str) -> str:
    """The path with its parameters set to things that exist."""
    for param in ("{run_id}", "{run_a}", "{run_b}"):  # a diff compares the run to itself
        path = path.replace(param, run_id)
    path = path.replace("{name}", "fast").replace("{node}", "first")
    assert not re.search(r"\{\w+\}", path), f"a new path parameter to fill: {path}"
    return path + "/app.js" if path == "/static" else path


def body(method: str, path: str) -> dict[str, Any] | None:
    """A valid body for the POST routes."""
    if method != "POST":
        return None
    return {
        "/runs": {"graph": "fast"},
        "/graphs": fast_graph(),
        "/policies": {"name": "p", "policy": {}},
        "/contextprofiles": {"name": "c", "profile": {"budget": 100}},
        "/providerpool": default_pool().model_dump(mode="json"),
        "/runs/{run_id}/replay": {"from_step": "second"},
    }.get(path, {})


def test_every_route_but_the_public_ones_needs_the_token(tmp_path: Path) -> None:
    table = routes()
    paths = {p for _, p in table}
    assert paths >= PUBLIC, "a public route went away: update PUBLIC"
    assert len(paths - PUBLIC) >= 12
    with (
        thread_server(tmp_path / "data", token=TOKEN) as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        right = {"Authorization": f"Bearer {TOKEN}"}
        assert client.post("/graphs", json=fast_graph(), headers=right).status_code == 200
        res = client.post("/runs", json={"graph": "fast"}, headers=right)
        run_id = res.json()["run_id"]
        deadline = time.monotonic() + 20
        while client.get(f"/runs/{run_id}", headers=right).json()["status"] not in TERMINAL:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        wrong_ways = {
            "none": {},
            "wrong token, same length": {"Authorization": f"Bearer {WRONG}"},
            "token as basic": {"Authorization": f"Basic {TOKEN}"},
            "token alone": {"Authorization": TOKEN},
            "empty bearer": {"Authorization": "Bearer"},
            "wrong cookie": {"Cookie": f"agentos_token={WRONG}"},
            "token prefix": {"Authorization": f"Bearer {TOKEN[:-1]}"},
            "token plus": {"Authorization": f"Bearer {TOKEN}x"},
        }
        for method, template in table:
            url = fill(template, run_id)
            kw = {"json": body(method, template)}
            if template in PUBLIC:
                res = client.request(method, url, **kw)
                assert res.status_code == 200, (method, url, res.status_code)
                assert run_id not in res.text, (url, res.text[-300:])
                assert "two no-op nodes" not in res.text, url
                continue
            for why, headers in wrong_ways.items():
                res = client.request(method, url, headers=headers, **kw)
                assert res.status_code == 401, (method, url, why, res.status_code)
                assert res.json() == {"detail": "missing or wrong bearer token"}
                assert res.headers["www-authenticate"] == "Bearer"
            if not template.startswith("/dashboard"):
                res = client.request(method, url, params={"token": TOKEN}, **kw)
                assert res.status_code == 401, (method, url, "token in the query")
            cookie = {"Cookie": f"agentos_token={TOKEN}"}
            if method == "POST":  # the cookie alone is not enough to change anything
                res = client.request(method, url, headers=cookie, **kw)
                assert res.status_code == 403, (method, url, "cookie without the header")
                assert "X-AgentOS-Request" in res.json()["detail"]
                cookie = {**cookie, "X-AgentOS-Request": "1"}
            for how in ({"Authorization": f"Bearer {TOKEN}"}, cookie):
                if template in ENDLESS:  # a live stream: its status is enough
                    with client.stream(method, url, headers=how) as res:
                        assert res.status_code == 200, (method, url, res.status_code)
                    continue
                res = client.request(method, url, headers=how, **kw)
                if template in LIVE_RUN_ONLY:
                    assert res.status_code == 409, (method, url, res.status_code, res.text)
                    continue
                assert 200 <= res.status_code < 300, (method, url, res.status_code, res.text)


def test_the_server_binds_loopback_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = next(p for p in serve_command.params if p.name == "host")
    assert host.default == "127.0.0.1"
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kw: Any) -> None:
        seen.update(kw)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    res = CliRunner().invoke(cli, ["--data", str(tmp_path / "data"), "serve"])
    assert res.exit_code == 0, res.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8000
