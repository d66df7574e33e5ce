"""No agent can take the server down: a graph whose agent calls sys.exit (or raises
KeyboardInterrupt), on the loop or in the thread pool, fails its own runs, while a run
already going carries on, new runs are created and /health answers, on a real uvicorn
server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from rel_http_server import final_state, thread_server

from agentos.actors import NodeContext
from agentos.agents import AgentRegistry

MESSAGES = {"SystemExit": "agent quits", "KeyboardInterrupt": "agent interrupted"}


def _quit(kind: str) -> None:
    if kind == "SystemExit":
        sys.exit(MESSAGES[kind])
    raise KeyboardInterrupt(MESSAGES[kind])


def _registry(released: threading.Event) -> AgentRegistry:
    reg = AgentRegistry()

    async def quits(ctx: NodeContext) -> None:
        _quit(ctx.params["raise"])

    def quits_blocking(ctx: NodeContext) -> None:
        _quit(ctx.params["raise"])

    async def patient(ctx: NodeContext) -> dict[str, Any]:
        while not released.is_set():  # still running while the other graph's agent quits
            await asyncio.sleep(0.01)
        return {"node": ctx.node}

    async def quick(ctx: NodeContext) -> dict[str, Any]:
        return {"node": ctx.node}

    for name, fn in [
        ("quits", quits),
        ("quits_blocking", quits_blocking),
        ("patient", patient),
        ("quick", quick),
    ]:
        reg.register(name, fn)
    return reg


def _graph(name: str, agent: str, **node: Any) -> dict[str, Any]:
    return {"name": name, "nodes": [{"name": "only", "agent": agent, **node}]}


async def _post_run(c: httpx.AsyncClient, graph: str) -> str:
    res = await c.post("/runs", json={"graph": graph})
    assert res.status_code == 200, res.text
    run_id: str = res.json()["run_id"]
    return run_id


@pytest.mark.parametrize("agent", ["quits", "quits_blocking"])
@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt"])
async def test_an_agent_that_exits_fails_its_run_and_the_server_carries_on(
    tmp_path: Path, agent: str, kind: str
) -> None:
    released = threading.Event()
    with thread_server(tmp_path / "data", agents=_registry(released)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            graphs = [
                _graph("exits", agent, params={"raise": kind}),
                _graph("waits", "patient"),
                _graph("quick", "quick"),
            ]
            for graph in graphs:
                assert (await c.post("/graphs", json=graph)).status_code == 200
            waiting = await _post_run(c, "waits")
            try:
                failed = await final_state(c, await _post_run(c, "exits"))
                assert failed["status"] == "failed"
                node = failed["nodes"]["only"]
                assert node["status"] == "failed"
                res = await c.get(
                    f"/runs/{failed['run_id']}/events", params={"type": "node_failed"}
                )
                (event,) = res.json()["events"]
                assert (event["data"]["error_type"], event["data"]["error"]) == (
                    kind,
                    f"{kind}: {MESSAGES[kind]}",
                )

                assert (await c.get("/health")).status_code == 200
                quick = [await _post_run(c, "quick") for _ in range(3)]
                assert [(await final_state(c, r))["status"] for r in quick] == ["succeeded"] * 3
                again = await final_state(c, await _post_run(c, "exits"))
                assert again["status"] == "failed"
            finally:
                released.set()
            assert (await final_state(c, waiting))["status"] == "succeeded"
