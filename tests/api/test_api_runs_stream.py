"""GET /runs/stream over a real HTTP server: the summary of each run that appears or
changes, `removed` for a deleted run, nothing for unchanged ones; behind the token."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from api_support import small_graph

from agentos.api.app import create_app
from agentos.demo import registry as demo_agents
from agentos.eventstore import JsonlEventStore

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUICK = {"name": "quick", "policy": {"retry": {"max_attempts": 1}, "timeout": 5}}


@contextmanager
def serving(data: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(data, token=TOKEN, agents=demo_agents, allow_agents=["api_support:*"])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
def server(data_dir: Path) -> Iterator[str]:
    with serving(data_dir) as base:
        assert httpx.post(f"{base}/policies", json=QUICK, headers=AUTH).status_code == 200
        assert httpx.post(f"{base}/graphs", json=small_graph(), headers=AUTH).status_code == 200
        yield base


def start(base: str) -> str:
    res = httpx.post(f"{base}/runs", json={"graph": "small"}, headers=AUTH)
    assert res.status_code == 200, res.text
    return str(res.json()["run_id"])


def frames(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) of each frame with data, as they come."""
    kind = "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            yield kind, json.loads(line[6:])
            kind = "message"


def test_new_and_changed_runs_are_streamed(server: str, data_dir: Path) -> None:
    before = start(server)
    deadline = time.monotonic() + 30
    while httpx.get(f"{server}/runs/{before}", headers=AUTH).json()["status"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    timeout = httpx.Timeout(30.0)
    with httpx.stream("GET", f"{server}/runs/stream", headers=AUTH, timeout=timeout) as res:
        assert res.status_code == 200
        assert res.headers["content-type"].startswith("text/event-stream")
        seen: list[tuple[str, dict[str, Any]]] = []
        stream = frames(res)
        run_id = start(server)
        for kind, data in stream:
            seen.append((kind, data))
            if kind == "run" and data["run_id"] == run_id and data["status"] == "succeeded":
                break
        assert all(d["run_id"] == run_id for _, d in seen)  # the finished one never changed
        assert {d["status"] for _, d in seen} <= {"pending", "running", "succeeded"}
        assert seen[-1][1]["events"] > 1 and seen[-1][1]["graph"] == "small"

        async def delete() -> None:
            store = JsonlEventStore(data_dir, durable=False)
            try:
                await store.delete_run(before)
            finally:
                await store.close()

        asyncio.run(delete())
        kind, data = next(stream)
        assert (kind, data) == ("removed", {"run_id": before})


def test_the_stream_needs_the_token(server: str) -> None:
    assert httpx.get(f"{server}/runs/stream").status_code == 401
