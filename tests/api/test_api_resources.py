"""The API's declarative resources: health, policies, profiles, pool, graphs."""

from __future__ import annotations

import httpx
from api_support import OpenClient, poll, small_graph

QUICK = {"name": "quick", "policy": {"retry": {"max_attempts": 2}, "timeout": 5}}
PROFILE = {
    "name": "tiny",
    "profile": {"budget": 300, "reserve": 50, "sources": [{"kind": "inputs"}]},
}
POOL = {
    "providers": [
        {
            "name": "solo",
            "latency_scale": 0,
            "models": [
                {
                    "name": "m1",
                    "context_window": 8192,
                    "price_in_per_1k": 0.001,
                    "price_out_per_1k": 0.002,
                    "tier": 3,
                }
            ],
        }
    ]
}


async def test_health_answers(client: httpx.AsyncClient) -> None:
    res = await client.get("/health")
    assert res.status_code == 200
    assert res.json()["ok"] is True


async def test_registrations_are_acknowledged(client: httpx.AsyncClient) -> None:
    assert (await client.post("/policies", json=QUICK)).json() == {"ok": True, "name": "quick"}
    res = await client.post("/contextprofiles", json=PROFILE)
    assert res.json() == {"ok": True, "name": "tiny"}
    res = await client.post("/providerpool", json=POOL)
    assert res.json() == {"ok": True, "name": "providerpool"}
    res = await client.post("/graphs", json=small_graph())
    assert res.status_code == 200, res.text
    assert res.json() == {"ok": True, "name": "small"}


async def test_graphs_are_listed_and_read_back(client: httpx.AsyncClient) -> None:
    await client.post("/policies", json=QUICK)
    await client.post("/graphs", json=small_graph(description="mine"))
    listed = {g["name"]: g for g in (await client.get("/graphs")).json()}
    assert listed["small"]["nodes"] == ["first", "second"]
    assert listed["git-to-prod-multi"]["nodes"][0] == "planner"
    graph = (await client.get("/graphs/small")).json()
    assert graph["description"] == "mine"
    assert graph["nodes"][1]["after"] == ["first"]
    demo = (await client.get("/graphs/git-to-prod-multi")).json()
    assert len(demo["nodes"]) == 9  # eight agents and the optional approval


async def test_unknown_graph_is_404(client: httpx.AsyncClient) -> None:
    res = await client.get("/graphs/nope")
    assert res.status_code == 404
    assert "unknown graph 'nope'" in res.json()["detail"]


async def test_invalid_graph_lists_every_problem_and_registers_nothing(
    client: httpx.AsyncClient,
) -> None:
    bad = {
        "name": "broken",
        "nodes": [
            {"name": "a", "agent": "api_support:no_such_fn", "policy": "missing"},
            {"name": "b", "agent": "api_support:echo", "after": ["ghost"]},
        ],
    }
    res = await client.post("/graphs", json=bad)
    assert res.status_code == 422
    problems = res.json()["detail"]["problems"]
    assert len(problems) >= 3
    assert all(set(p) == {"where", "message"} for p in problems)
    text = " ".join(p["message"] for p in problems)
    assert "missing" in text and "ghost" in text and "no_such_fn" in text
    assert (await client.get("/graphs/broken")).status_code == 404
    names = [g["name"] for g in (await client.get("/graphs")).json()]
    assert "broken" not in names


async def test_bodies_that_do_not_validate_are_422_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    res = await client.post("/policies", json={"name": "p", "policy": {"timeout": -1}})
    assert res.status_code == 422
    detail = res.json()["detail"]
    assert detail[0]["loc"] == ["body", "policy", "timeout"]
    assert "greater than 0" in detail[0]["msg"]
    res = await client.post("/runs", json={"inputs": {}})
    assert res.status_code == 422
    assert res.json()["detail"][0]["loc"] == ["body", "graph"]
    res = await client.post("/providerpool", json={"providers": []})
    assert res.status_code == 422
    res = await client.post("/contextprofiles", json={"name": "x", "profile": {"budget": 0}})
    assert res.status_code == 422
    res = await client.post("/policies", json={"name": "../evil", "policy": {}})
    assert res.status_code == 422
    assert "invalid policy name" in res.json()["detail"]


async def test_registrations_survive_a_restart(open_client: OpenClient) -> None:
    async with open_client() as first:
        await first.post("/policies", json=QUICK)
        await first.post("/contextprofiles", json=PROFILE)
        await first.post("/providerpool", json=POOL)
        assert (await first.post("/graphs", json=small_graph())).status_code == 200
    async with open_client() as second:
        graph = (await second.get("/graphs/small")).json()
        assert graph["nodes"][0]["policy"] == "quick"
        res = await second.post("/runs", json={"graph": "small", "inputs": {"x": 1}})
        run_id = res.json()["run_id"]
        assert (await poll(second, run_id))[-1] == "succeeded"
        state = (await second.get(f"/runs/{run_id}")).json()
        assert state["spec"]["policies"]["quick"]["timeout"] == 5


async def test_openapi_describes_every_endpoint(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    for path, method in [
        ("/health", "get"),
        ("/policies", "post"),
        ("/contextprofiles", "post"),
        ("/providerpool", "post"),
        ("/graphs", "post"),
        ("/graphs", "get"),
        ("/graphs/{name}", "get"),
        ("/runs", "post"),
        ("/runs", "get"),
        ("/runs/{run_id}", "get"),
        ("/runs/{run_id}/events", "get"),
        ("/runs/{run_id}/events/stream", "get"),
        ("/runs/{run_id}/replay", "post"),
        ("/dashboard", "get"),
    ]:
        assert method in paths[path], (path, method)
    post_runs = paths["/runs"]["post"]
    assert "RunRequest" in str(post_runs["requestBody"])
    assert "RunAccepted" in str(post_runs["responses"]["200"])
    assert "ReplayAccepted" in str(paths["/runs/{run_id}/replay"]["post"]["responses"])
    assert "GraphRefused" in str(paths["/graphs"]["post"]["responses"]["422"])


async def test_reregistering_a_graph_retires_its_supervisor(client: httpx.AsyncClient) -> None:
    import asyncio
    import threading

    await client.post("/policies", json=QUICK)
    await client.post("/graphs", json=small_graph())
    res = await client.post("/runs", json={"graph": "small", "inputs": {}})
    run_id = res.json()["run_id"]
    await poll(client, run_id)

    def actor_threads() -> int:
        names = ("SupervisorActor", "NodeActor", "agentos-agent")
        return sum(t.name.startswith(names) for t in threading.enumerate())

    before = actor_threads()
    for _ in range(3):
        assert (await client.post("/graphs", json=small_graph())).status_code == 200
        res = await client.post("/runs", json={"graph": "small", "inputs": {}})
        await poll(client, res.json()["run_id"])
    for _ in range(100):  # retired supervisors stop once their runs have ended
        if actor_threads() <= before:
            break
        await asyncio.sleep(0.05)
    assert actor_threads() <= before
