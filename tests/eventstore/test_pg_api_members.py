"""Two servers on one PostgreSQL store are members: a run posted to one is queued and
driven by a member with room; both see it, live; a signal or cancel sent to either
reaches the member that drives it."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from pg_servers import server, until

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


async def test_two_servers_share_runs(pg_url: str, tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(server(tmp_path / "one", pg_url))
        two = await stack.enter_async_context(server(tmp_path / "two", pg_url))
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
