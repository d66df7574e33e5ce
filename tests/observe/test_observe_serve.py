"""The server's lifecycle lines: a run created, waiting, resumed by a restarted server
and finished, logged from the app's listeners; `agentos serve --log-format json` writing
JSON lines only; a one-line error for OTEL_* settings that cannot work."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from click.testing import CliRunner

from agentos.api.app import create_app
from agentos.cli import cli

HERE = Path(__file__).parent
SECRET = "s3cr3t-input-value-42"
WAITING = {
    "name": "approved",
    "nodes": [
        {"name": "a", "agent": "observe_agents:echo"},
        {"name": "approval", "wait": "go", "after": ["a"]},
        {"name": "b", "agent": "observe_agents:echo", "after": ["approval"]},
    ],
}


@asynccontextmanager
async def served(data: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app over `data`, lifespan included (a server start and stop)."""
    app = create_app(data, allow_agents=["observe_agents:*"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def status_is(client: httpx.AsyncClient, run_id: str, *wanted: str) -> None:
    deadline = time.monotonic() + 20
    while (await client.get(f"/runs/{run_id}")).json()["status"] not in wanted:
        assert time.monotonic() < deadline, f"run {run_id} never became {wanted}"
        await asyncio.sleep(0.02)


async def logged(caplog: pytest.LogCaptureFixture, event: str) -> dict[str, Any]:
    """The fields of the lifecycle record `event`, once the listener wrote it."""
    deadline = time.monotonic() + 20
    while True:
        found = [r.fields for r in caplog.records if getattr(r, "fields", {}).get("event") == event]  # type: ignore[attr-defined]
        if found:
            return dict(found[-1])
        assert time.monotonic() < deadline, f"no {event} line"
        await asyncio.sleep(0.02)


async def test_the_server_logs_a_run_across_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agentos.lifecycle")
    data = tmp_path / "data"
    async with served(data) as client:
        assert (await client.post("/graphs", json=WAITING)).status_code == 200
        res = await client.post("/runs", json={"graph": "approved", "inputs": {"q": SECRET}})
        run_id = res.json()["run_id"]
        await status_is(client, run_id, "waiting")
        waiting = await logged(caplog, "node_waiting")
    assert waiting == {
        "event": "node_waiting",
        "run_id": run_id,
        "graph": "approved",
        "node": "approval",
        "attempt": 1,
        "signal": "go",
        "timeout": None,
    }
    async with served(data) as client:  # the restarted server resumes the run
        resumed = await logged(caplog, "run_resumed")
        sent = await client.post(f"/runs/{run_id}/signals/go", json={"approved": True})
        assert sent.status_code == 200, sent.text
        await status_is(client, run_id, "succeeded")
        finished = await logged(caplog, "run_finished")
    assert resumed == {
        "event": "run_resumed",
        "run_id": run_id,
        "graph": "approved",
        "status": "waiting",
    }
    assert finished["status"] == "succeeded" and finished["run_id"] == run_id
    events = [r.fields["event"] for r in caplog.records if r.name == "agentos.lifecycle"]  # type: ignore[attr-defined]
    assert events == [
        "run_created",
        "run_started",
        "node_waiting",
        "run_resumed",
        "run_finished",
    ]
    assert not any(SECRET in r.getMessage() or SECRET in str(r.__dict__) for r in caplog.records)


def _json_lines(stream: IO[str], until: str, deadline: float) -> Iterator[dict[str, Any]]:
    """Parse `stream`'s lines as JSON objects until one's msg holds `until`."""
    for line in stream:
        parsed = json.loads(line)
        assert isinstance(parsed, dict)
        yield parsed
        if until in str(parsed.get("msg")):
            return
        assert time.monotonic() < deadline, f"no line with {until!r}"


def test_serve_writes_json_lines(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {"AGENTOS_FSYNC": "0", "PYTHONPATH": str(HERE)}
    script = Path(sys.executable).parent / "agentos"
    command = [str(script), "--data", str(tmp_path / "data"), "serve", "--port", "0"]
    command += ["--no-auth", "--allow-agents", "observe_agents:*", "--log-format", "json"]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stderr is not None
        deadline = time.monotonic() + 60
        assert server.stdout.readline().startswith("dashboard: ")  # the one plain line
        started = list(_json_lines(server.stderr, "running on", deadline))
        assert {line["logger"] for line in started} <= {"uvicorn.error"}
        url = str(started[-1]["msg"]).split("running on ")[1].split()[0]
        graph = {"name": "plain", "nodes": [{"name": "a", "agent": "observe_agents:echo"}]}
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.post("/graphs", json=graph).status_code == 200
            res = client.post("/runs", json={"graph": "plain", "inputs": {"q": SECRET}})
            assert res.status_code == 200, res.text
        run = list(_json_lines(server.stderr, "run_finished", deadline))
        assert [line["event"] for line in run] == ["run_created", "run_started", "run_finished"]
        assert run[-1]["run_id"] == res.json()["run_id"] and run[-1]["status"] == "succeeded"
        access = json.loads(server.stdout.readline())
        assert access["logger"] == "uvicorn.access" and "POST /graphs" in access["msg"]
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert SECRET not in out + err
    for line in (out + err).splitlines():
        assert isinstance(json.loads(line), dict)


def test_serve_refuses_otel_settings_that_cannot_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jaeger")
    result = CliRunner().invoke(cli, ["--data", str(tmp_path / "data"), "serve", "--no-auth"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: OTEL_TRACES_EXPORTER='jaeger'")
    assert "Traceback" not in result.stderr
