"""Two servers on one PostgreSQL store are members: a run posted to one is queued and
driven by a member with room; both see it, live; a signal or cancel sent to either
reaches the member that drives it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentos.api.app import create_app
from agentos.demo import registry as demo_agents

APPROVE = {
    "name": "approve",
    "nodes": [
        {"name": "a", "agent": "pg_agents:step", "params": {"sleep": 0.01}},
        {"name": "approval", "after": ["a"], "wait": "approval"},
        {"name": "b", "agent": "pg_agents:step", "after": ["approval"], "params": {"sleep": 0.01}},
    ],
}


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)


@asynccontextmanager
async def member(data: Path, url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(data, agents=demo_agents, allow_agents=["pg_agents:*"], store=url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def until(client: httpx.AsyncClient, run_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        res = await client.get(f"/runs/{run_id}")
        if res.status_code == 200 and res.json()["status"] == status:
            return dict(res.json())
        assert time.monotonic() < deadline, f"{run_id}: {res.status_code} {res.text[:200]}"
        await asyncio.sleep(0.02)


async def test_two_servers_share_runs(pg_url: str, tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(member(tmp_path / "one", pg_url))
        two = await stack.enter_async_context(member(tmp_path / "two", pg_url))
        for client in (one, two):  # each server keeps its catalog in its own data dir
            assert (await client.post("/graphs", json=APPROVE)).status_code == 200
        ids = []
        for _ in range(6):
            res = await one.post("/runs", json={"graph": "approve"})
            assert res.status_code == 200, res.text
            ids.append(res.json()["run_id"])
        for run_id in ids:  # the other member sees every run, whoever drives it
            await until(two, run_id, "waiting")
        listed = {r["run_id"] for r in (await two.get("/runs")).json()}
        assert set(ids) <= listed
        approved = await two.post(f"/runs/{ids[0]}/signals/approval", json={"approved": True})
        assert approved.status_code == 200, approved.text
        await until(one, ids[0], "succeeded")
        cancelled = await two.post(f"/runs/{ids[1]}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        await until(one, ids[1], "cancelled")
        for run_id in ids[2:]:
            await one.post(f"/runs/{run_id}/signals/approval", json={"approved": True})
        for run_id in ids[2:]:
            await until(two, run_id, "succeeded")
