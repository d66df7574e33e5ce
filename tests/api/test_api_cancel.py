"""POST /runs/{id}/cancel: 200 with the state once cancelled, 404 unknown, 409 ended."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from api_support import poll

from agentos.actors import NodeContext


async def hang(ctx: NodeContext) -> dict[str, Any]:
    """An agent reachable as `test_api_cancel:hang` (allowed below): waits 30 s."""
    await asyncio.sleep(30)
    return {}


def hang_graph() -> dict[str, Any]:
    return {
        "name": "hangs",
        "nodes": [
            {"name": "a", "agent": "api_support:echo"},
            {"name": "b", "agent": "test_api_cancel:hang", "after": ["a"]},
        ],
    }


async def _running_b(client: httpx.AsyncClient, run_id: str) -> None:
    for _ in range(500):
        state = (await client.get(f"/runs/{run_id}")).json()
        if state["nodes"]["b"]["status"] == "running":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("node b never started")


async def test_cancel_ends_a_running_run(client: httpx.AsyncClient) -> None:
    client.app.state.allow_agents.append("test_api_cancel:*")  # type: ignore[attr-defined]
    res = await client.post("/graphs", json=hang_graph())
    assert res.status_code == 200, res.text
    run_id = (await client.post("/runs", json={"graph": "hangs"})).json()["run_id"]
    await _running_b(client, run_id)
    res = await client.post(f"/runs/{run_id}/cancel", json={"reason": "from the api"})
    assert res.status_code == 200, res.text
    state = res.json()
    assert state["status"] == "cancelled"
    assert state["nodes"]["b"]["status"] == "cancelled"
    events = (await client.get(f"/runs/{run_id}/events")).json()["events"]
    assert events[-1]["type"] == "run_cancelled"
    assert events[-1]["data"] == {"reason": "from the api"}

    again = await client.post(f"/runs/{run_id}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"] == f"run {run_id} already ended: cancelled"
    after = (await client.get(f"/runs/{run_id}/events")).json()["events"]
    assert after == events  # nothing changed


async def test_cancel_of_an_ended_or_unknown_run(client: httpx.AsyncClient) -> None:
    res = await client.post("/runs", json={"graph": "git-to-prod-multi", "inputs": {}})
    run_id = res.json()["run_id"]
    assert (await poll(client, run_id))[-1] == "succeeded"
    ended = await client.post(f"/runs/{run_id}/cancel")
    assert ended.status_code == 409
    assert "already ended: succeeded" in ended.json()["detail"]
    unknown = await client.post("/runs/run-nope/cancel")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "unknown run 'run-nope'"
