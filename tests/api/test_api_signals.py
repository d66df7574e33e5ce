"""POST /runs/{id}/signals/{name}: a waiting run approved, rejected, and bad signals."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from api_support import OpenClient, poll

APPROVED = {"approved": True, "by": "ana", "comment": "ship it"}


def approval_graph() -> dict[str, Any]:
    """first -> approval (waits for the signal "approval") -> second."""
    return {
        "name": "approve",
        "nodes": [
            {"name": "first", "agent": "api_support:echo"},
            {"name": "approval", "after": ["first"], "wait": "approval"},
            {"name": "second", "agent": "api_support:echo", "after": ["approval"]},
        ],
    }


async def waiting_run(client: httpx.AsyncClient) -> str:
    """A run of the approval graph, once it waits for its signal."""
    res = await client.post("/graphs", json=approval_graph())
    assert res.status_code == 200, res.text
    res = await client.post("/runs", json={"graph": "approve"})
    run_id = str(res.json()["run_id"])
    await until_waiting(client, run_id)
    return run_id


async def until_waiting(client: httpx.AsyncClient, run_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = (await client.get(f"/runs/{run_id}")).json()
        if state["status"] == "waiting":
            assert state["waiting"]["approval"]["signal"] == "approval"
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} never waited: {state['status']}")


async def test_approve_a_waiting_run(client: httpx.AsyncClient) -> None:
    run_id = await waiting_run(client)
    res = await client.post(f"/runs/{run_id}/signals/approval", json=APPROVED)
    assert res.status_code == 200, res.text
    assert res.json()["nodes"]["approval"]["output"] == APPROVED
    assert (await poll(client, run_id))[-1] == "succeeded"
    events = (await client.get(f"/runs/{run_id}/events?type=signal_received")).json()
    [received] = events["events"]
    assert received["node"] == "approval" and received["data"]["payload"] == APPROVED


async def test_reject_a_waiting_run(client: httpx.AsyncClient) -> None:
    run_id = await waiting_run(client)
    body = {"approved": False, "by": "bob"}
    assert (await client.post(f"/runs/{run_id}/signals/approval", json=body)).status_code == 200
    assert (await poll(client, run_id))[-1] == "failed"
    state = (await client.get(f"/runs/{run_id}")).json()
    assert state["error"] == "node approval failed: rejected by bob"
    # an ended run takes no more signals: 409, and nothing is written
    last = state["last_seq"]
    res = await client.post(f"/runs/{run_id}/signals/approval", json=APPROVED)
    assert res.status_code == 409 and "has ended" in res.json()["detail"]
    assert (await client.get(f"/runs/{run_id}")).json()["last_seq"] == last


async def test_bad_signals_are_refused(client: httpx.AsyncClient) -> None:
    run_id = await waiting_run(client)
    res = await client.post("/runs/nope/signals/approval", json=APPROVED)
    assert res.status_code == 404
    res = await client.post(f"/runs/{run_id}/signals/approval", json=[1, 2])
    assert res.status_code == 422
    deep: Any = 1
    for _ in range(200):
        deep = {"x": deep}
    res = await client.post(f"/runs/{run_id}/signals/approval", json=deep)
    assert res.status_code == 422, res.text
    res = await client.post(f"/runs/{run_id}/signals/bad name!", json=APPROVED)
    assert res.status_code == 422, res.text
    state = (await client.get(f"/runs/{run_id}")).json()
    assert state["status"] == "waiting" and state["signals"] == {}


async def test_a_restarted_server_keeps_the_run_waiting(open_client: OpenClient) -> None:
    async with open_client() as client:
        run_id = await waiting_run(client)
    async with open_client() as client:  # resumed at startup, still waiting
        await until_waiting(client, run_id)
        res = await client.post(f"/runs/{run_id}/signals/approval", json=APPROVED)
        assert res.status_code == 200, res.text
        assert (await poll(client, run_id))[-1] == "succeeded"
