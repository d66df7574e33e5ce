"""In-process API servers on a PostgreSQL store, for the tests of members sharing it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from agentos.api.app import create_app
from agentos.demo import registry as demo_agents


@asynccontextmanager
async def server(data: Path, url: str, capacity: int = 100) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server (a member of the store at `url`) that runs pg_agents."""
    app = create_app(
        data, agents=demo_agents, allow_agents=["pg_agents:*"], store=url, capacity=capacity
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def until(client: httpx.AsyncClient, run_id: str, status: str) -> dict[str, Any]:
    """The run once `client` shows it in `status` (at most 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        res = await client.get(f"/runs/{run_id}")
        if res.status_code == 200 and res.json()["status"] == status:
            return dict(res.json())
        assert time.monotonic() < deadline, f"{run_id}: {res.status_code} {res.text[:200]}"
        await asyncio.sleep(0.02)
