"""Streamed calls in runs: token deltas reach the SSE stream as `token` frames while the
call is under way and never the log; a cut stream fails the attempt, and it is retried."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_routing_recorded import calls_of, events_of, provider
from wire_server import Reply, WireServer

from agentos.actors import Supervisor
from agentos.api.app import create_app
from agentos.eventstore import JsonlEventStore
from agentos.routing.pool_file import load_pool
from agentos.routing.streaming import FEED

HERE = Path(__file__).parent
GRAPH: dict[str, Any] = {
    "name": "streamed",
    "context_profiles": {
        "helper": {
            "budget": 2000,
            "sources": [{"kind": "instructions", "text": "Be terse."}, {"kind": "inputs"}],
        }
    },
    "nodes": [
        {
            "name": "talk",
            "agent": "recorded_agents:ask_streamed",
            "context": "helper",
            "policy": {"retry": {"max_attempts": 2, "initial_interval": 0.01}},
        }
    ],
}


@pytest.fixture(autouse=True)
def _agents_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("AGENTOS_FSYNC", "0")


def sse_frames(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event kind, data) of each frame that has data."""
    frames = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            frames.append((fields.get("event", "message"), json.loads(fields["data"])))
    return frames


async def bounded(check: Any, what: str) -> None:
    for _ in range(1500):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_token_frames_reach_the_sse_stream_while_the_call_runs(
    tmp_path: Path, wire: WireServer, api_key: str, kind: str
) -> None:
    pause = threading.Event()
    wire.script.append(Reply(pause=pause))
    spec = provider(wire, "live", "m-live")
    if kind == "anthropic":
        spec.update(kind="anthropic", base_url=wire.url)
    data = tmp_path / "data"
    app = create_app(data, allow_agents=["recorded_agents:*"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            assert (await client.post("/graphs", json=GRAPH)).status_code == 200
            res = await client.post("/providerpool", json={"providers": [spec]})
            assert res.status_code == 200, res.text
            res = await client.post("/runs", json={"graph": "streamed", "inputs": {"q": "hi"}})
            run_id = res.json()["run_id"]
            try:
                await bounded(lambda: wire.requests, "the call to reach the server")
                stream = asyncio.create_task(client.get(f"/runs/{run_id}/events/stream"))
                await bounded(lambda: FEED.listening(run_id), "the stream to listen")
            finally:
                pause.set()  # the second half of the answer streams to the listener
            frames = sse_frames((await stream).text)
    kinds = [k for k, _ in frames]
    assert "token" in kinds
    called = next(i for i, (k, d) in enumerate(frames) if d.get("type") == "model_called")
    tokens = [d for k, d in frames if k == "token"]
    assert all(i < called for i, (k, _) in enumerate(frames) if k == "token")  # live
    assert {(d["node"], d["attempt"], d["call"]) for d in tokens} == {("talk", 1, 0)}
    text = frames[called][1]["data"]["response"]["text"]
    assert text.endswith("".join(d["text"] for d in tokens)) and text.startswith("answer 1")
    assert wire.requests[0].body["stream"] is True
    # the log has the whole answer in model_called, and no token events
    logged = events_of(data, run_id)
    assert {e["type"] for e in logged}.isdisjoint({"token", "model_token"})
    assert logged[-1]["type"] == "run_succeeded"


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_cut_stream_fails_the_attempt_and_the_retry_streams_it_whole(
    tmp_path: Path, wire: WireServer, api_key: str, kind: str
) -> None:
    spec = provider(wire, "live", "m-live")
    if kind == "anthropic":
        spec.update(kind="anthropic", base_url=wire.url)
    pool_file = tmp_path / "pool.yaml"
    pool_file.write_text(yaml.safe_dump({"providers": [spec]}))
    # here the node's policy asks for the stream, not the call
    node = {**GRAPH["nodes"][0], "agent": "recorded_agents:ask"}
    node["policy"] = {**node["policy"], "stream": True}
    graph = tmp_path / "streamed.yaml"
    graph.write_text(yaml.safe_dump({**GRAPH, "nodes": [node]}))
    wire.script.append(Reply(cut=3))
    data = tmp_path / "data"
    store = JsonlEventStore(data)
    async with Supervisor.start(graph, store, pool=load_pool(pool_file)) as sup:
        run_id = await sup.start_run({"q": "hi"})
        state = await sup.wait(run_id)
    await store.close()
    assert state.status == "succeeded", state
    assert len(wire.requests) == 2
    assert all(r.body["stream"] is True for r in wire.requests)
    first, second = (c["data"] for c in calls_of(data, run_id))
    assert first["ok"] is False and "stream cut" in first["error"]
    assert second.get("ok", True) is True and "recorded" not in second
    assert state.nodes["talk"].output == {"text": second["response"]["text"]}
    assert [e["type"] for e in events_of(data, run_id)].count("node_retrying") == 1
