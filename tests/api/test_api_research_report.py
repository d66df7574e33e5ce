"""examples/research-report.yaml through the HTTP API: registered with its child graph,
started, approved by a POST, finished with its map, loop and child run linked."""

from __future__ import annotations

from pathlib import Path

import httpx
from api_support import poll
from test_api_signals import until_waiting

from agentos.graphs import load_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def spec(name: str) -> dict[str, object]:
    return load_graph(EXAMPLES / f"{name}.yaml").model_dump(mode="json")


async def test_a_graph_node_needs_its_graph_registered_first(client: httpx.AsyncClient) -> None:
    res = await client.post("/graphs", json=spec("research-report"))
    assert res.status_code == 422
    assert "'notify-team', which is not registered" in res.text
    assert all(g["name"] != "research-report" for g in (await client.get("/graphs")).json())


async def test_the_report_through_the_api(client: httpx.AsyncClient) -> None:
    for name in ("notify-team", "research-report"):
        res = await client.post("/graphs", json=spec(name))
        assert res.status_code == 200, res.text
    topic = "tides, currents and waves"
    res = await client.post("/runs", json={"graph": "research-report", "inputs": {"topic": topic}})
    assert res.status_code == 200, res.text
    run_id = res.json()["run_id"]
    await until_waiting(client, run_id)
    approval = {"approved": True, "by": "ana", "comment": "ship it"}
    res = await client.post(f"/runs/{run_id}/signals/approval", json=approval)
    assert res.status_code == 200, res.text
    assert (await poll(client, run_id))[-1] == "succeeded"
    state = (await client.get(f"/runs/{run_id}")).json()
    nodes = state["nodes"]
    assert nodes["researcher"]["instances"] == 3
    assert {nodes[f"researcher[{i}]"]["status"] for i in range(3)} == {"succeeded"}
    assert nodes["writer"]["iteration"] == 2
    child = nodes["notify"]["child_run"]
    assert child == f"{run_id}.notify"
    child_state = (await client.get(f"/runs/{child}")).json()
    assert child_state["status"] == "succeeded"
    assert child_state["parent"] == {"run_id": run_id, "node": "notify"}
    assert set(nodes["notify"]["output"]) == {"compose", "send"}
    events = (await client.get(f"/runs/{run_id}/events?type=map_expanded")).json()["events"]
    assert [e["node"] for e in events] == ["researcher"]
    assert len(events[0]["data"]["items"]) == 3
    res = await client.get(f"/runs/{run_id}/nodes/researcher%5B1%5D")
    assert res.status_code == 200, res.text
    assert '"item"' in res.text and "currents" in res.text  # the instance's item, in full
