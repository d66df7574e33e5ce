"""Runs through the API: create, poll, list, events, stream, replay, errors."""

from __future__ import annotations

import json

import httpx
import pytest
from api_support import poll, start_demo


def sse_events(text: str) -> list[tuple[str, str, dict[str, object]]]:
    """(id, event name, data) of every SSE frame with data."""
    frames = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            frames.append(
                (fields.get("id", ""), fields.get("event", ""), json.loads(fields["data"]))
            )
    return frames


async def test_demo_run_goes_pending_running_succeeded(client: httpx.AsyncClient) -> None:
    run_id = await start_demo(client)  # answers at once with status pending
    seen = ["pending", *await poll(client, run_id)]
    assert seen[-1] == "succeeded", seen
    assert "running" in seen
    assert seen.index("pending") < seen.index("running") < seen.index("succeeded")
    state = (await client.get(f"/runs/{run_id}")).json()
    assert state["run_id"] == run_id and state["graph"] == "git-to-prod-multi"
    assert set(state["nodes"]) == {
        "planner", "py_fixer", "fe_fixer", "test_writer",
        "aggregator", "tester", "security", "approval", "release",
    }  # fmt: skip
    assert state["nodes"].pop("approval")["status"] == "skipped"  # no approval asked for
    for node in state["nodes"].values():
        assert node["status"] == "succeeded"
        assert node["manifest"]["items"] and node["model"]["reason"]
    assert state["usage"]["tokens_in"] > 0 and state["usage"]["cost"] > 0
    assert state["inputs"]["pr_number"] == 42


async def test_runs_list_is_newest_first(client: httpx.AsyncClient) -> None:
    first = await start_demo(client)
    await poll(client, first)
    second = await start_demo(client, pr_number=7)
    runs = (await client.get("/runs")).json()
    assert [r["run_id"] for r in runs[:2]] == [second, first]
    done = runs[1]
    assert set(done) == {
        "run_id", "graph", "status", "events", "started", "duration", "replayed_from",
    }  # fmt: skip
    assert done["status"] == "succeeded" and done["events"] >= 8 and done["duration"] > 0
    await poll(client, second)


async def test_events_with_filters(client: httpx.AsyncClient) -> None:
    run_id = await start_demo(client)
    await poll(client, run_id)
    body = (await client.get(f"/runs/{run_id}/events")).json()
    events = body["events"]
    assert body["count"] == len(events) == body["last_seq"] >= 8
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "run_created" and events[-1]["type"] == "run_succeeded"
    later = (await client.get(f"/runs/{run_id}/events", params={"after": 5})).json()
    assert later["events"][0]["seq"] == 6
    chosen = await client.get(
        f"/runs/{run_id}/events", params={"type": "model_selected,context_compiled"}
    )
    kinds = {e["type"] for e in chosen.json()["events"]}
    assert kinds == {"model_selected", "context_compiled"}
    assert chosen.json()["count"] == 16  # one manifest and one model choice per node
    tester = (await client.get(f"/runs/{run_id}/events", params={"node": "tester"})).json()
    assert tester["count"] > 0 and {e["node"] for e in tester["events"]} == {"tester"}


async def test_stream_follows_a_live_run_and_ends(client: httpx.AsyncClient) -> None:
    run_id = await start_demo(client)
    res = await client.get(f"/runs/{run_id}/events/stream")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/event-stream")
    frames = sse_events(res.text)
    data = [f for f in frames if f[1] == "message"]
    assert [int(i) for i, _, _ in data] == list(range(1, len(data) + 1))
    assert data[-1][2]["type"] == "run_succeeded"
    assert frames[-1][1] == "end"


async def test_stream_honours_last_event_id(client: httpx.AsyncClient) -> None:
    run_id = await start_demo(client)
    await poll(client, run_id)
    res = await client.get(f"/runs/{run_id}/events/stream", headers={"Last-Event-ID": "10"})
    seqs = [int(i) for i, kind, _ in sse_events(res.text) if kind == "message"]
    assert seqs[0] == 11
    res = await client.get(f"/runs/{run_id}/events/stream", params={"after": 20})
    assert next(int(i) for i, k, _ in sse_events(res.text) if k == "message") == 21


async def test_replay_from_a_node_forks_a_new_run(client: httpx.AsyncClient) -> None:
    source = await start_demo(client)
    await poll(client, source)
    res = await client.post(f"/runs/{source}/replay", json={"from_step": "tester"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["ok"] is True and body["run_id"] != source
    assert body["status"] in ("pending", "running", "succeeded")
    assert body["replayed_from"]["source_run"] == source
    assert body["replayed_from"]["from_step"] == "tester"
    assert (await poll(client, body["run_id"]))[-1] == "succeeded"
    runs = {r["run_id"]: r for r in (await client.get("/runs")).json()}
    assert runs[body["run_id"]]["replayed_from"] == source
    by_seq = await client.post(f"/runs/{source}/replay", json={"from_step": 4})
    assert by_seq.status_code == 200, by_seq.text
    await poll(client, by_seq.json()["run_id"])


async def test_replay_from_an_unknown_step_is_422(client: httpx.AsyncClient) -> None:
    source = await start_demo(client)
    await poll(client, source)
    res = await client.post(f"/runs/{source}/replay", json={"from_step": "nowhere"})
    assert res.status_code == 422
    assert "nowhere" in res.json()["detail"]
    res = await client.post(f"/runs/{source}/replay", json={"from_step": 99999})
    assert res.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/runs/run-nope", None),
        ("GET", "/runs/run-nope/events", None),
        ("GET", "/runs/run-nope/events/stream", None),
        ("POST", "/runs/run-nope/replay", {"from_step": "tester"}),
        ("GET", "/runs/..%2Fetc", None),
        ("GET", "/dashboard/runs/run-nope", None),
    ],
)
async def test_unknown_run_is_404(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    res = await client.request(method, path, json=body)
    assert res.status_code == 404
    if path.startswith("/runs/run-nope"):
        assert res.json()["detail"] == "unknown run 'run-nope'"


async def test_run_of_unknown_graph_is_404(client: httpx.AsyncClient) -> None:
    res = await client.post("/runs", json={"graph": "nope", "inputs": {}})
    assert res.status_code == 404
    assert "unknown graph 'nope'" in res.json()["detail"]


async def test_run_with_a_missing_workspace_is_422(client: httpx.AsyncClient) -> None:
    res = await client.post(
        "/runs", json={"graph": "git-to-prod-multi", "inputs": {"repo": "no/such/dir"}}
    )
    assert res.status_code == 422
    assert "no/such/dir" in res.json()["detail"]
    assert (await client.get("/runs")).json() == []


async def test_concurrent_reads_of_a_live_run_agree(client: httpx.AsyncClient) -> None:
    import asyncio

    run_id = await start_demo(client, pr_number=3)
    seen: list[int] = []
    while True:
        answers = await asyncio.gather(*(client.get(f"/runs/{run_id}") for _ in range(8)))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        seen += [a.json()["last_seq"] for a in answers]
        if answers[-1].json()["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.02)
    final = (await client.get(f"/runs/{run_id}/events")).json()
    assert max(seen) == final["last_seq"] == final["count"]


async def test_runs_go_on_a_loop_thread_of_their_own_which_stops_with_the_app(
    open_client,  # type: ignore[no-untyped-def]
) -> None:
    import asyncio
    import threading

    async with open_client() as c:
        run_id = await start_demo(c)
        assert (await poll(c, run_id))[-1] == "succeeded"
        runtime = c.app.state.runtime  # type: ignore[attr-defined]
        sup = runtime.supervisor("git-to-prod-multi")
        assert sup.loop is not asyncio.get_running_loop()  # requests and runs apart
        assert any(t.name == "agentos-loop" for t in threading.enumerate())
    assert not any(t.name == "agentos-loop" for t in threading.enumerate())
