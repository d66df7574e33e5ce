"""GET /runs/{id}/nodes/{node}: one node in full (input, output, error, attempts, model
calls, manifest), for plain nodes, loop passes and replays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import poll, start_demo

from agentos.actors import NodeContext
from agentos.actors.node_context import Next
from agentos.api.app import create_app
from agentos.demo import registry as demo_agents
from agentos.demo.graph import resolve_source

LONG = "a reason longer than any summary line would show: " + "x" * 400
FAILS = {
    "name": "fails",
    "nodes": [
        {"name": "source", "agent": "test_api_nodes:source"},
        {
            "name": "flaky",
            "agent": "test_api_nodes:flaky",
            "after": ["source"],
            "params": {"k": 1},
            "policy": {"retry": {"max_attempts": 2, "initial_interval": 0}},
        },
        {"name": "broken", "agent": "test_api_nodes:broken", "after": ["flaky"]},
        {"name": "after_broken", "agent": "test_api_nodes:source", "after": ["broken"]},
    ],
}
LOOP = {
    "name": "drafts",
    "nodes": [
        {"name": "writer", "agent": "test_api_nodes:writer"},
        {
            "name": "reviewer",
            "agent": "test_api_nodes:reviewer",
            "after": ["writer"],
            "loop": {"to": "writer", "max_iterations": 3},
        },
    ],
}


def source(ctx: NodeContext) -> dict[str, Any]:
    return {"text": "t" * 300}


def flaky(ctx: NodeContext) -> dict[str, Any]:
    if ctx.attempt == 1:
        raise KeyError("questions")
    return {"seen": ctx.upstream["source"]["output"]["text"][:3], "k": ctx.params["k"]}


def broken(ctx: NodeContext) -> dict[str, Any]:
    raise ValueError(LONG)


def writer(ctx: NodeContext) -> dict[str, Any]:
    before = ctx.outputs.get("writer") or {"n": 0}
    return {"n": before["n"] + 1}


def reviewer(ctx: NodeContext) -> Next | dict[str, Any]:
    if ctx.outputs["writer"]["n"] < 2:
        return Next(["writer"], {"ok": False, "comment": "again"})
    return {"ok": True}


@pytest.fixture
async def client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        data_dir,
        agents=demo_agents,
        allow_agents=["test_api_nodes:*"],
        resolve_source=resolve_source,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield c


async def run(client: httpx.AsyncClient, graph: dict[str, Any]) -> str:
    assert (await client.post("/graphs", json=graph)).status_code == 200
    res = await client.post("/runs", json={"graph": graph["name"], "inputs": {"topic": "t"}})
    run_id = str(res.json()["run_id"])
    await poll(client, run_id)
    return run_id


async def node(client: httpx.AsyncClient, run_id: str, name: str) -> dict[str, Any]:
    res = await client.get(f"/runs/{run_id}/nodes/{name}")
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


async def test_a_failed_run_shows_input_attempts_and_the_whole_error(
    client: httpx.AsyncClient,
) -> None:
    run_id = await run(client, FAILS)
    flaky_node = await node(client, run_id, "flaky")
    assert flaky_node["status"] == "succeeded"
    assert flaky_node["input"]["params"] == {"k": 1}
    assert flaky_node["input"]["inputs"] == {"topic": "t"}
    upstream = flaky_node["input"]["upstream"]["source"]
    assert upstream["status"] == "succeeded" and upstream["output"] == {"text": "t" * 300}
    assert flaky_node["output"] == {"seen": "ttt", "k": 1}
    assert [a["outcome"] for a in flaky_node["attempts"]] == ["failed", "succeeded"]
    first = flaky_node["attempts"][0]
    assert first["error"] == {"error_type": "KeyError", "message": "KeyError: 'questions'"}
    assert first["retry_in"] == 0
    assert flaky_node["error"] is None  # the node succeeded in the end

    broken_node = await node(client, run_id, "broken")
    assert broken_node["status"] == "failed"
    assert broken_node["error"] == {"error_type": "ValueError", "message": f"ValueError: {LONG}"}
    assert broken_node["input"]["upstream"]["flaky"]["output"] == {"seen": "ttt", "k": 1}

    never = await node(client, run_id, "after_broken")
    assert never["status"] == "never ran"
    assert never["attempts"] == [] and never["input"] is None and never["events"] == []


async def test_model_calls_manifest_and_context_of_a_demo_node(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_demo(client)
    await poll(client, run_id)
    fixer = await node(client, run_id, "py_fixer")
    assert fixer["spec"]["name"] == "py_fixer" and fixer["status"] == "succeeded"
    assert fixer["model_calls"], "the demo's fixer calls its model"
    call = fixer["model_calls"][0]
    assert call["provider"] and call["model"] and call["tokens_in"] > 0 and call["cost"] > 0
    assert fixer["manifest"]["items"] and fixer["manifest"]["profile"]
    attempt = fixer["attempts"][0]
    assert attempt["model"]["provider"] == call["provider"]
    assert attempt["context_text"], "the context the model was given"
    assert fixer["origin"] is None


async def test_loop_passes_are_addressed_with_a_hash(client: httpx.AsyncClient) -> None:
    run_id = await run(client, LOOP)
    current = await node(client, run_id, "writer")
    assert current["iteration"] == 2 and current["iterations"] == [1, 2]
    assert current["output"] == {"n": 2}
    assert current["input"]["previous_outputs"]["writer"] == {"n": 1}
    first = await node(client, run_id, "writer%231")
    assert first["node"] == "writer" and first["iteration"] == 1
    assert first["output"] == {"n": 1} and first["status"] == "succeeded"
    second = await node(client, run_id, "writer%232")
    assert second["node"] == "writer#2" and second["events"] == current["events"]
    assert (await client.get(f"/runs/{run_id}/nodes/writer%233")).status_code == 404


async def test_a_replay_tells_inherited_nodes_from_those_that_ran_again(
    client: httpx.AsyncClient,
) -> None:
    source_run = await run(client, FAILS)
    res = await client.post(f"/runs/{source_run}/replay", json={"from_step": "broken"})
    replay = res.json()["run_id"]
    await poll(client, replay)
    assert (await node(client, replay, "source"))["origin"] == "inherited"
    assert (await node(client, replay, "flaky"))["origin"] == "inherited"
    assert (await node(client, replay, "broken"))["origin"] == "re-ran"
    assert (await node(client, replay, "after_broken"))["origin"] is None


@pytest.mark.parametrize("name", ["nope", "flaky%23x", "flaky%230", "flaky%232", "flaky[0]"])
async def test_an_unknown_node_is_404(client: httpx.AsyncClient, name: str) -> None:
    run_id = await run(client, FAILS)
    res = await client.get(f"/runs/{run_id}/nodes/{name}")
    assert res.status_code == 404
    assert "has no node" in res.json()["detail"]


async def test_an_unknown_run_is_404(client: httpx.AsyncClient) -> None:
    res = await client.get("/runs/run-nope/nodes/flaky")
    assert res.status_code == 404 and "unknown run" in res.json()["detail"]


async def test_the_node_route_needs_the_token(data_dir: Path) -> None:
    app = create_app(data_dir, token="s3cret", agents=demo_agents)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            assert (await c.get("/runs/x/nodes/y")).status_code == 401
            right = {"Authorization": "Bearer s3cret"}
            assert (await c.get("/runs/x/nodes/y", headers=right)).status_code == 404
