"""Fixtures for API tests: an app with its lifespan running, and an ASGI client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from api_support import OpenClient

from agentos.api.app import create_app
from agentos.demo import registry as demo_agents
from agentos.demo.graph import resolve_source


@pytest.fixture(autouse=True)
def _no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOS_FSYNC", "0")
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def open_client(data_dir: Path) -> OpenClient:
    """Start an app on `data_dir` (lifespan included) and yield a client to it."""

    @asynccontextmanager
    async def opened(token: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(
            data_dir,
            token=token,
            agents=demo_agents,
            allow_agents=["api_support:*"],
            resolve_source=resolve_source,
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return opened


@pytest.fixture
async def client(open_client: OpenClient) -> AsyncIterator[httpx.AsyncClient]:
    async with open_client() as c:
        yield c
