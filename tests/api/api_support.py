"""Helpers for API tests: start runs, poll until they end, small graphs and agents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from agentos.actors import NodeContext

OpenClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


async def start_demo(client: httpx.AsyncClient, **inputs: Any) -> str:
    res = await client.post(
        "/runs", json={"graph": "git-to-prod-multi", "inputs": {"pr_number": 42, **inputs}}
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["ok"] is True and body["status"] == "pending"
    return str(body["run_id"])


async def poll(client: httpx.AsyncClient, run_id: str, timeout: float = 60) -> list[str]:
    """Poll GET /runs/{id} until the run ends; the statuses seen, without repeats."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = await client.get(f"/runs/{run_id}")
        assert res.status_code == 200, res.text
        status = res.json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("succeeded", "failed", "cancelled"):
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} did not end in {timeout}s: {seen}")


async def echo(ctx: NodeContext) -> dict[str, Any]:
    """A trivial agent, reachable by the import path `api_support:echo`."""
    await asyncio.sleep(0.01)
    return {"node": ctx.node, "upstream": sorted(ctx.upstream)}


def small_graph(name: str = "small", **extra: Any) -> dict[str, Any]:
    """A two-node graph of echo agents using a registered policy `quick`."""
    return {
        "name": name,
        "description": "two echo nodes",
        "nodes": [
            {"name": "first", "agent": "api_support:echo", "policy": "quick"},
            {"name": "second", "agent": "api_support:echo", "after": ["first"]},
        ],
        **extra,
    }
