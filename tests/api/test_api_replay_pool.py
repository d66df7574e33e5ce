"""POST /runs/{id}/replay with `"pool"`: a what-if routed through that pool (as
`agentos replay --pool FILE`), validated like POST /providerpool; the catalog's pool
is left as it was."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentos.actors import NodeContext
from agentos.api.app import create_app

M = "test_api_replay_pool"
GRAPH: dict[str, Any] = {
    "name": "asks",
    "context_profiles": {
        "helper": {"budget": 2000, "sources": [{"kind": "inputs"}]},
    },
    "nodes": [
        {"name": "first", "agent": f"{M}:ask", "context": "helper"},
        {"name": "second", "agent": f"{M}:ask", "context": "helper", "after": ["first"]},
    ],
}


def sim(name: str, model: str) -> dict[str, Any]:
    """A simulated provider offering one model, without simulated sleeps."""
    spec = {"name": model, "context_window": 8192, "tier": 1}
    spec.update(price_in_per_1k=0.001, price_out_per_1k=0.001)
    return {"name": name, "models": [spec], "latency_scale": 0}


ORIGINAL = {"providers": [sim("home", "m-home")]}
WHAT_IF = {"providers": [sim("away", "m-away")]}


async def ask(ctx: NodeContext) -> dict[str, Any]:
    response = await ctx.complete(max_tokens=32)
    return {"text": response.text}


@pytest.fixture
async def client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(data_dir, allow_agents=[f"{M}:*"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield c


async def finished(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    for _ in range(1500):
        state: dict[str, Any] = (await client.get(f"/runs/{run_id}")).json()
        if state["status"] in {"succeeded", "failed"}:
            return state
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} did not end")


async def calls(client: httpx.AsyncClient, run_id: str) -> list[dict[str, Any]]:
    events = (await client.get(f"/runs/{run_id}/events")).json()["events"]
    return [e["data"] for e in events if e["type"] == "model_called"]


@pytest.fixture
async def source(client: httpx.AsyncClient) -> str:
    assert (await client.post("/graphs", json=GRAPH)).status_code == 200
    assert (await client.post("/providerpool", json=ORIGINAL)).status_code == 200
    run_id = str(
        (await client.post("/runs", json={"graph": "asks", "inputs": {}})).json()["run_id"]
    )
    assert (await finished(client, run_id))["status"] == "succeeded"
    assert [c["provider"] for c in await calls(client, run_id)] == ["home", "home"]
    return run_id


async def test_a_replay_with_a_pool_routes_its_calls_through_it(
    client: httpx.AsyncClient, source: str
) -> None:
    body = {"from_step": "second", "pool": WHAT_IF}
    res = await client.post(f"/runs/{source}/replay", json=body)
    assert res.status_code == 200, res.text
    fork = res.json()["run_id"]
    assert res.json()["replayed_from"]["source_run"] == source
    assert (await finished(client, fork))["status"] == "succeeded"
    made = [(c["provider"], c["model"]) for c in await calls(client, fork)]
    assert made == [("home", "m-home"), ("away", "m-away")]  # first copied, second re-ran
    # the catalog's pool is as it was: a plain replay follows the original's models
    assert (await client.get("/providerpool")).json()["providers"][0]["name"] == "home"
    res = await client.post(f"/runs/{source}/replay", json={"from_step": "second"})
    plain = res.json()["run_id"]
    assert (await finished(client, plain))["status"] == "succeeded"
    assert [c["provider"] for c in await calls(client, plain)] == ["home", "home"]


async def test_a_pool_and_a_model_of_it(client: httpx.AsyncClient, source: str) -> None:
    two = {"providers": [*WHAT_IF["providers"], sim("far", "m-far")]}
    body = {"from_step": "first", "pool": two, "model": "far/m-far"}
    res = await client.post(f"/runs/{source}/replay", json=body)
    assert res.status_code == 200, res.text
    fork = res.json()["run_id"]
    assert (await finished(client, fork))["status"] == "succeeded"
    assert [c["provider"] for c in await calls(client, fork)] == ["far", "far"]


async def test_a_bad_pool_or_a_model_it_lacks_is_refused_and_nothing_forks(
    client: httpx.AsyncClient, source: str
) -> None:
    before = len((await client.get("/runs")).json())
    bad = {"providers": [{"name": "x", "kind": "nope", "models": []}]}
    res = await client.post(f"/runs/{source}/replay", json={"from_step": "second", "pool": bad})
    assert res.status_code == 422 and "pool" in str(res.json()["detail"])
    twice = {"providers": [sim("a", "m"), sim("a", "m")]}
    res = await client.post(f"/runs/{source}/replay", json={"from_step": "second", "pool": twice})
    assert res.status_code == 422 and "providers listed twice" in str(res.json()["detail"])
    body = {"from_step": "second", "pool": WHAT_IF, "model": "home/m-home"}
    res = await client.post(f"/runs/{source}/replay", json=body)
    assert res.status_code == 422
    assert res.json()["detail"] == (
        "cannot replay: model home/m-home: provider 'home' is not configured"
    )
    assert len((await client.get("/runs")).json()) == before
