"""Each HTTP error status comes from one specific AgentOS error, never from any ValueError."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from api_support import poll, start_demo
from fastapi import FastAPI

from agentos.api.runtime import Runtime
from agentos.events.model import RunCreated, RunCreatedData, RunStarted, utcnow
from agentos.eventstore import JsonlEventStore
from agentos.state.run_state import RunState


@asynccontextmanager
async def unraised(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 500 a server answers for an unhandled error."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


async def test_a_value_error_of_a_bug_is_500_not_unknown_run(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = await start_demo(client)
    await poll(client, run_id)
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]

    async def buggy(run_id: str) -> RunState:
        raise ValueError("a bug in the fold")

    monkeypatch.setattr(rt, "state", buggy)
    async with unraised(client.app) as raw:  # type: ignore[attr-defined]
        for path in (f"/runs/{run_id}", f"/runs/{run_id}/events", "/runs/nope"):
            res = await raw.get(path)
            assert res.status_code == 500, (path, res.text)
            assert "unknown run" not in res.text


async def test_an_id_no_run_can_have_is_still_unknown(client: httpx.AsyncClient) -> None:
    res = await client.get("/runs/.hidden")
    assert res.status_code == 404
    assert res.json()["detail"] == "unknown run '.hidden'"


async def test_resume_of_a_run_another_writer_holds_is_409(
    client: httpx.AsyncClient, data_dir: Path
) -> None:
    spec = (await client.get("/graphs/git-to-prod-multi")).json()
    created = RunCreatedData(graph="git-to-prod-multi", spec=spec, inputs={"pr_number": 1})
    events = [
        RunCreated(seq=1, run_id="held", ts=utcnow(), data=created),
        RunStarted(seq=2, run_id="held", ts=utcnow()),
    ]
    holder = JsonlEventStore(data_dir, durable=False)  # keeps the log open, and locked
    try:
        await holder.append("held", events, 0)
        res = await client.post("/runs/held/resume")
        assert res.status_code == 409, res.text
        assert "held" in res.json()["detail"]
        assert len(await holder.read_all("held")) == 2  # nothing was written
    finally:
        await holder.close()
