"""An agent's error over HTTP: its type in the run's state, its page and the node
detail (`KeyError: 'questions'`), and the real duration of the failed attempt."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import poll

from agentos.actors import NodeContext
from agentos.api.app import create_app

M = "test_api_agent_errors"
GRAPH = {
    "name": "asks",
    "nodes": [{"name": "plan", "agent": f"{M}:plan", "policy": {"retry": {"max_attempts": 1}}}],
}


def plan(ctx: NodeContext) -> dict[str, Any]:
    found: dict[str, Any] = {}
    return {"first": found["questions"]}


@pytest.fixture
async def client(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(data_dir, allow_agents=[f"{M}:*"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield c


async def test_the_error_type_is_shown_everywhere(client: httpx.AsyncClient) -> None:
    assert (await client.post("/graphs", json=GRAPH)).status_code == 200
    run_id = (await client.post("/runs", json={"graph": "asks"})).json()["run_id"]
    assert (await poll(client, run_id))[-1] == "failed"
    state = (await client.get(f"/runs/{run_id}")).json()
    assert state["nodes"]["plan"]["error"] == "KeyError: 'questions'"
    assert state["error"] == "node plan failed: KeyError: 'questions'"
    assert state["nodes"]["plan"]["duration_ms"] > 0
    page = (await client.get(f"/dashboard/runs/{run_id}")).text
    assert html.escape("KeyError: 'questions'") in page
    detail = (await client.get(f"/runs/{run_id}/nodes/plan")).json()
    assert "KeyError: 'questions'" in str(detail)
