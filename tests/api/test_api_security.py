"""Registering code over HTTP is a privilege of its own (the agent allow-list), the demo
agents are no file-write + execute chain, requests from other origins or for other
hosts are refused, and every 4xx body fits the OpenAPI schema of its route."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Union

import httpx
import pytest
from api_support import OpenClient, poll
from fastapi import FastAPI
from pydantic import TypeAdapter

from agentos.api.app import create_app
from agentos.api.models import Detail, GraphRefused, InvalidRequest
from agentos.demo import registry as demo_agents

TOKEN = "t0ken-for-the-security-tests"
SAMPLE = Path(__file__).resolve().parents[2] / "examples/sample_repo"


def graph(*agents: str, name: str = "g") -> dict[str, Any]:
    nodes = [{"name": f"n{i}", "agent": a} for i, a in enumerate(agents)]
    return {"name": name, "description": "", "nodes": nodes}


# the agent allow-list


@pytest.mark.parametrize("agent", ["os:system", "builtins:eval", "subprocess:run"])
async def test_an_import_path_not_allowed_is_403_saying_how_to_allow_it(
    client: httpx.AsyncClient, agent: str
) -> None:
    res = await client.post("/graphs", json=graph("demo.planner", agent))
    assert res.status_code == 403, res.text
    module = agent.split(":")[0]
    assert res.json() == {
        "detail": f"agent {agent!r} is not allowed over HTTP: allow it with "
        f"agentos serve --allow-agents '{module}:*' (or AGENTOS_ALLOW_AGENTS)"
    }
    assert (await client.get("/graphs/g")).status_code == 404


async def test_a_refused_module_is_never_imported(
    open_client: OpenClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "sidefx_mod.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef fn(ctx): return {{}}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    async with open_client() as client:
        res = await client.post("/graphs", json=graph("sidefx_mod:fn"))
        assert res.status_code == 403
    assert not marker.exists()


async def test_registered_agents_and_allowed_patterns_pass(client: httpx.AsyncClient) -> None:
    assert (await client.post("/graphs", json=graph("demo.planner", "demo.tester"))).is_success
    assert (await client.post("/graphs", json=graph("api_support:echo"))).is_success
    for near in ("api_support_x:echo", "api_support.sub:echo", "xapi_support:echo"):
        assert (await client.post("/graphs", json=graph(near))).status_code == 403, near


async def test_without_patterns_only_registered_agents_pass(data_dir: Path) -> None:
    app = create_app(data_dir, agents=demo_agents)
    async with app.router.lifespan_context(app), _client(app) as client:
        assert (await client.post("/graphs", json=graph("demo.release"))).is_success
        res = await client.post("/graphs", json=graph("api_support:echo"))
        assert res.status_code == 403


# the demo agents


def exploit_graph(changelog: str, section: str) -> dict[str, Any]:
    """The finding: the release agent writes conftest.py, then the planner runs pytest."""
    return {
        "name": "exploit",
        "description": "",
        "workspace": "repo",
        "nodes": [
            {
                "name": "release",
                "agent": "demo.release",
                "params": {"changelog": changelog, "section": section},
                "policy": {"retry": {"max_attempts": 1}},
            },
            {"name": "planner", "agent": "demo.planner", "after": ["release"]},
        ],
    }


@pytest.mark.parametrize(
    "changelog", ["conftest.py", "tests/conftest.py", "calc/__init__.py", "../x.md"]
)
async def test_the_demo_write_then_execute_chain_is_refused(
    client: httpx.AsyncClient, tmp_path: Path, changelog: str
) -> None:
    marker = tmp_path / "pwned"
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE, repo)
    # the section opens a string the pr number closes: the file is valid python
    section = 'x\ns = """'
    pr = f'1"""\nopen({str(marker)!r}, "w").close()\n#'
    cases = [(changelog, section), (changelog, "Unreleased"), ("CHANGELOG.md", section)]
    for name, title in cases:
        assert (await client.post("/graphs", json=exploit_graph(name, title))).is_success
        inputs = {"repo": str(repo), "pr_number": pr}
        res = await client.post("/runs", json={"graph": "exploit", "inputs": inputs})
        run_id = res.json()["run_id"]
        final = (await poll(client, run_id))[-1]
        assert not marker.exists(), "the payload ran"
        assert final == "failed"
        state = (await client.get(f"/runs/{run_id}")).json()
        assert "param" in state["nodes"]["release"]["error"], state["nodes"]["release"]
        assert state["nodes"]["planner"]["status"] == "pending"
    data = client.app.state.runtime.data_dir  # type: ignore[attr-defined]
    workspaces = sorted(data.glob("run-*/workspace"))
    assert workspaces and not any(list(w.rglob("conftest.py")) for w in workspaces)


# hosts and origins


async def test_a_host_not_allowed_is_refused(data_dir: Path) -> None:
    app = create_app(data_dir, agents=demo_agents, allowed_hosts=["127.0.0.1", "localhost"])
    async with _client(app, base="http://127.0.0.1:8000") as client:
        assert (await client.get("/health")).status_code == 200
        ok = await client.get("/health", headers={"Host": "LOCALHOST:9"})
        assert ok.status_code == 200
        for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", ""):
            res = await client.get("/health", headers={"Host": host})
            assert res.status_code == 403, host
            assert "--allowed-hosts" in res.json()["detail"]
            res = await client.post("/graphs", json=graph("demo.planner"), headers={"Host": host})
            assert res.status_code == 403, host


async def test_foreign_origins_cannot_change_anything(open_client: OpenClient) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with open_client(token=TOKEN) as client:
        refused = [
            {"Origin": "http://evil.example"},
            {"Origin": "http://api:8080"},
            {"Origin": "https://api"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
        ]
        for headers in refused:
            res = await client.post("/graphs", json=graph("demo.planner"), headers=bearer | headers)
            assert res.status_code == 403, headers
            assert "refused" in res.json()["detail"]
        assert (await client.get("/graphs/g", headers=bearer)).status_code == 404
        same = {"Origin": "http://api", "Sec-Fetch-Site": "same-origin"}
        res = await client.post("/graphs", json=graph("demo.planner"), headers=bearer | same)
        assert res.status_code == 200
        res = await client.get("/graphs", headers=bearer | {"Origin": "http://evil.example"})
        assert res.status_code == 200  # reading is left to the token and CORS


async def test_the_cookie_alone_changes_nothing(open_client: OpenClient) -> None:
    async with open_client(token=TOKEN) as client:
        client.cookies.set("agentos_token", TOKEN)
        assert (await client.get("/graphs")).status_code == 200
        res = await client.post("/graphs", json=graph("demo.planner"))
        assert res.status_code == 403
        assert res.json() == {
            "detail": "a request authenticated by the cookie needs the header X-AgentOS-Request: 1"
        }
        assert (await client.get("/graphs/g")).status_code == 404
        res = await client.post(
            "/graphs", json=graph("demo.planner"), headers={"X-AgentOS-Request": "1"}
        )
        assert res.status_code == 200


# error bodies and the schema


# the component schemas of 4xx bodies, as models (FastAPI's own 422 is InvalidRequest)
MODELS: dict[str, Any] = {
    "Detail": Detail,
    "InvalidRequest": InvalidRequest,
    "HTTPValidationError": InvalidRequest,
    "GraphRefused": GraphRefused,
}


def declared(schema: dict[str, Any], method: str, path: str, status: int) -> Any:
    """The model the OpenAPI `schema` declares for `status` of `method path` (exact code,
    else 4XX): one of MODELS, or a union of them."""
    for template, item in schema["paths"].items():
        if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path):
            responses = item[method.lower()]["responses"]
            found = responses.get(str(status)) or responses.get("4XX")
            assert found is not None, f"{method} {path} declares no {status}"
            body = found["content"]["application/json"]["schema"]
            refs = [body["$ref"]] if "$ref" in body else [x["$ref"] for x in body["anyOf"]]
            models = [MODELS[r.rsplit("/", 1)[-1]] for r in refs]
            return models[0] if len(models) == 1 else Union[tuple(models)]  # noqa: UP007
    raise AssertionError(f"no route for {method} {path}")


async def test_every_4xx_body_fits_what_its_route_declares(open_client: OpenClient) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    bad_graph = graph("api_support:no_such_fn")
    cases: list[tuple[str, str, dict[str, Any] | None, dict[str, str], int]] = [
        ("GET", "/runs", None, {}, 401),
        ("POST", "/graphs", graph("os:system"), bearer, 403),
        ("POST", "/graphs", bad_graph, bearer, 422),
        ("POST", "/graphs", {"name": 1}, bearer, 422),
        ("POST", "/policies", {"name": "../x", "policy": {}}, bearer, 422),
        ("POST", "/runs", {"graph": "nope"}, bearer, 404),
        ("POST", "/runs", {"graph": 1}, bearer, 422),
        ("GET", "/runs/nope", None, bearer, 404),
        ("GET", "/graphs/nope", None, bearer, 404),
        ("POST", "/runs", {"graph": "x"}, bearer | {"Origin": "http://evil.example"}, 403),
    ]
    async with open_client(token=TOKEN) as client:
        schema = client.app.openapi()  # type: ignore[attr-defined]
        for method, path, body, headers, status in cases:
            res = await client.request(method, path, json=body, headers=headers)
            assert res.status_code == status, (method, path, res.text)
            model = declared(schema, method, path, status)
            TypeAdapter(model).validate_python(res.json(), strict=True)
    responses = schema["paths"]["/graphs"]["post"]["responses"]
    assert {"403", "422", "4XX"} <= set(responses)
    assert len(responses["422"]["content"]["application/json"]["schema"]["anyOf"]) == 3


def _client(app: FastAPI, base: str = "http://api") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)
