"""HTTP load on a real uvicorn server on 127.0.0.1: runs created by concurrent clients all
end, none is lost or duplicated, and GET /runs/{id} keeps answering during the load."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from rel_http_server import drive_load, fast_graph, process_server, summary

from agentos.eventstore.jsonl import JsonlEventStore

GET_BOUND = 10.0  # seconds: generous, a 2-core VM under 50 clients


async def check_load(data: Path, runs: int, clients: int, deadline: float) -> None:
    """Run the load against a fresh server on `data` and check every promise."""
    with process_server(data, env={"AGENTOS_FSYNC": "1"}, max_seconds=deadline + 60) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            assert (await c.post("/graphs", json=fast_graph())).status_code == 200
            result = await drive_load(base, runs, clients, deadline=deadline)
            listed = (await c.get("/runs", timeout=60)).json()
    print(json.dumps(summary(result, runs, clients)))

    ids = result.run_ids
    assert result.post_errors == []
    assert len(ids) == runs and len(set(ids)) == runs, "lost or duplicated run ids"
    assert sorted(r["run_id"] for r in listed) == sorted(ids)
    assert set(result.final) == set(ids), "some runs did not end in time"
    assert set(result.final.values()) == {"succeeded"}
    assert result.get_status, "no GET /runs/{id} answered during the load"
    assert set(result.get_status) == {200}
    assert max(result.get_latency) < GET_BOUND

    on_disk = {p.parent.name for p in data.glob("[!.]*/events.jsonl")}  # not spare folders
    assert on_disk == set(ids)
    store = JsonlEventStore(data, durable=False)
    try:
        for run_id in ids:
            events = [e async for e in store.read(run_id)]
            assert [e.seq for e in events] == list(range(1, len(events) + 1)), run_id
            assert [e.type for e in events].count("run_created") == 1, run_id
            assert events[0].type == "run_created" and events[-1].type == "run_succeeded"
    finally:
        await store.close()


async def test_100_runs_from_10_clients(tmp_path: Path) -> None:
    await check_load(tmp_path / "data", runs=100, clients=10, deadline=60)


@pytest.mark.slow
async def test_1000_runs_from_50_clients(tmp_path: Path) -> None:
    await check_load(tmp_path / "data", runs=1000, clients=50, deadline=300)
