"""A restarted server resumes the runs a previous process left unfinished."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from api_support import OpenClient, poll, start_demo

from agentos.demo import resolve_repo
from agentos.events import RunCreated, RunStarted, WorkspaceCreated, utcnow
from agentos.events.model import RunCreatedData, WorkspaceCreatedData
from agentos.eventstore import JsonlEventStore
from agentos.graphs.catalog import Catalog
from agentos.tools.workspace import snapshot_tree


async def write_prefix(data_dir: Path, run_id: str) -> None:
    """The log of a demo run whose server died right after it started."""
    repo = resolve_repo()
    spec = Catalog(data_dir).resolved("git-to-prod-multi")
    base = snapshot_tree(repo)
    files = {p: hashlib.sha256(t.encode()).hexdigest() for p, t in base.items()}
    inputs = {**spec.inputs, "repo": str(repo), "pr_number": 5}
    now = utcnow()
    events = [
        RunCreated(
            seq=1,
            run_id=run_id,
            ts=now,
            data=RunCreatedData(graph=spec.name, spec=spec.model_dump(mode="json"), inputs=inputs),
        ),
        WorkspaceCreated(
            seq=2,
            run_id=run_id,
            ts=now,
            data=WorkspaceCreatedData(source=str(repo), artifact="workspace-base", files=files),
        ),
        RunStarted(seq=3, run_id=run_id, ts=now),
    ]
    store = JsonlEventStore(data_dir, durable=False)
    try:
        await store.put_artifact(run_id, "workspace-base", base)
        await store.append(run_id, events, 0)
    finally:
        await store.close()


async def test_unfinished_run_is_resumed_at_startup(
    open_client: OpenClient, data_dir: Path
) -> None:
    await write_prefix(data_dir, "run-left-behind")
    async with open_client() as client:
        assert client.app.state.resumed == ["run-left-behind"]  # type: ignore[attr-defined]
        seen = await poll(client, "run-left-behind")
        assert seen[-1] == "succeeded", seen
        state = (await client.get("/runs/run-left-behind")).json()
        assert state["nodes"].pop("approval")["status"] == "skipped"  # no approval asked for
        assert all(n["status"] == "succeeded" for n in state["nodes"].values())
        assert state["inputs"]["pr_number"] == 5


async def test_finished_runs_stay_readable_after_restart(open_client: OpenClient) -> None:
    async with open_client() as first:
        run_id = await start_demo(first)
        await poll(first, run_id)
        events = (await first.get(f"/runs/{run_id}/events")).json()
    async with open_client() as second:
        assert second.app.state.resumed == []  # type: ignore[attr-defined]
        assert (await second.get(f"/runs/{run_id}")).json()["status"] == "succeeded"
        assert (await second.get(f"/runs/{run_id}/events")).json() == events


async def test_run_interrupted_by_a_stop_finishes_after_restart(open_client: OpenClient) -> None:
    async with open_client() as first:
        run_id = await start_demo(first)
        while True:  # stop the server while the run is in the middle
            state = (await first.get(f"/runs/{run_id}")).json()
            if state["nodes"].get("planner", {}).get("status") == "succeeded":
                break
            await asyncio.sleep(0.01)
    async with open_client() as second:
        assert run_id in second.app.state.resumed  # type: ignore[attr-defined]
        assert (await poll(second, run_id))[-1] == "succeeded"
        nodes = (await second.get(f"/runs/{run_id}")).json()["nodes"]
        assert nodes["planner"]["attempts"] == 1  # what succeeded is not run again
