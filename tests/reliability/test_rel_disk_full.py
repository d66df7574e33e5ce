"""A run whose append fails (disk full, EIO) says so everywhere, and a resume carries it on.

The CLI meets a real file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored: EFBIG) in a child
process; the server meets faults injected through FileOps (`FaultyOps` of
test_rel_disk_faults.py): ENOSPC on write, EIO on fsync.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from rel_http_server import fast_graph
from test_rel_disk_faults import FaultyOps

from agentos.api.app import create_app
from agentos.demo import registry as demo_agents
from agentos.demo.graph import resolve_source
from agentos.events import Envelope
from agentos.events.codec import encode
from agentos.eventstore import JsonlEventStore
from agentos.graphs.spec import GraphSpec

HERE = Path(__file__).resolve().parent
GRAPH = """\
name: chain
nodes:
  - {name: a, agent: "rel_http_server:noop"}
  - {name: b, agent: "rel_http_server:noop", after: [a]}
  - {name: c, agent: "rel_http_server:noop", after: [b]}
"""
LIMITED = """\
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
from agentos.cli import cli
cli(sys.argv[2:])
"""


def _agentos(data: Path, *args: str, limit: int = 1 << 40) -> subprocess.CompletedProcess[str]:
    """`agentos --data DATA ARGS...` in a child whose files may not grow past `limit`."""
    env = {**os.environ, "AGENTOS_FSYNC": "1", "NO_COLOR": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env.pop("AGENTOS_DATA_DIR", None)
    cmd = [sys.executable, "-c", LIMITED, str(limit), "--data", str(data), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def test_cli_run_on_a_full_disk_exits_with_one_line_then_resumes(tmp_path: Path) -> None:
    graph = tmp_path / "chain.yaml"
    graph.write_text(GRAPH)
    data = tmp_path / "data"
    started = time.monotonic()
    # 1500 bytes hold the run's first batches, not the whole log (about 2.5 KB)
    result = _agentos(data, "run", str(graph), limit=1500)
    assert time.monotonic() - started < 60
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "stalled: disk full (EFBIG)" in lines[0] and "agentos resume run-" in lines[0]
    (run_id,) = [p.name for p in data.iterdir() if not p.name.startswith(".")]
    assert run_id in lines[0]
    log = data / run_id / "events.jsonl"
    acked = log.read_bytes()
    assert acked and acked.endswith(b"\n")

    resumed = _agentos(data, "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed
    assert '"status": "succeeded"' in resumed.stdout
    assert log.read_bytes().startswith(acked), "an acknowledged event was lost"


# the server


@asynccontextmanager
async def faulty_server(data: Path, faults: FaultyOps) -> AsyncIterator[httpx.AsyncClient]:
    """The app, its runtime's store writing through `faults`, and a client of it."""
    app = create_app(data, agents=demo_agents, resolve_source=resolve_source)
    async with app.router.lifespan_context(app):
        rt = app.state.runtime
        await rt.store.close()
        # every sync through `faults` (no syncfs): a new log's first fsync fails too
        rt.store = JsonlEventStore(data, durable=True, ops=replace(faults.ops, syncfs=None))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            rt.catalog.put_graph(GraphSpec.model_validate(fast_graph("chain")))
            yield client


async def _status(client: httpx.AsyncClient, run_id: str, want: str) -> dict[str, object]:
    """GET /runs/{id} until its status is `want` (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        res = await client.get(f"/runs/{run_id}")
        assert res.status_code == 200, res.text
        body: dict[str, object] = res.json()
        if body["status"] == want or time.monotonic() > deadline:
            assert body["status"] == want, body
            return body
        await asyncio.sleep(0.02)


async def _read(data: Path, run_id: str) -> list[Envelope]:
    """The run's log, read with a store of its own."""
    reader = JsonlEventStore(data, durable=False)
    try:
        return await reader.read_all(run_id)
    finally:
        await reader.close()


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTOS_API_TOKEN", raising=False)


@pytest.mark.parametrize(
    ("kind", "code", "errno_name"), [("write", 507, "ENOSPC"), ("fsync", 503, "EIO")]
)
async def test_post_runs_answers_507_or_503_json(
    tmp_path: Path, kind: str, code: int, errno_name: str
) -> None:
    faults = FaultyOps(kind, ok=0)
    async with faulty_server(tmp_path / "data", faults) as client:
        res = await client.post("/runs", json={"graph": "chain"})
        assert res.status_code == code, res.text
        assert res.headers["content-type"] == "application/json"
        assert errno_name in res.json()["detail"]
        assert "Traceback" not in res.text


async def test_acknowledged_run_stalls_streams_an_error_and_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    faults = FaultyOps("write", ok=1)  # the run's first batch is stored, the next one not
    async with faulty_server(data, faults) as client:
        res = await client.post("/runs", json={"graph": "chain"})
        assert res.status_code == 200, res.text
        run_id = res.json()["run_id"]

        body = await _status(client, run_id, "stalled")
        assert "ENOSPC" in str(body["stalled_reason"]) and body["stalled_code"] == "ENOSPC"
        listed = (await client.get("/runs")).json()
        assert [r["status"] for r in listed if r["run_id"] == run_id] == ["stalled"]
        panel = await client.get(f"/dashboard/runs/{run_id}/panel")
        assert "s-stalled" in panel.text and "ENOSPC" in panel.text

        # the stream sends what was stored, then ends with an error frame
        stream = await asyncio.wait_for(client.get(f"/runs/{run_id}/events/stream"), 10)
        frames = stream.text.strip().split("\n\n")
        assert frames[-1].startswith("id: ") and "event: error" in frames[-1], frames[-1]
        assert '"status":"stalled"' in frames[-1] and "ENOSPC" in frames[-1]
        stored = await _read(data, run_id)
        assert len([f for f in frames if "event: message" in f]) == len(stored)

        # still full: the resume is refused the same way
        res = await client.post(f"/runs/{run_id}/resume")
        assert res.status_code == 507, res.text

        faults.kind = "none"  # space is back
        res = await client.post(f"/runs/{run_id}/resume")
        assert res.status_code == 200, res.text
        assert res.json()["status"] in ("running", "succeeded")
        await _status(client, run_id, "succeeded")
        stream = await asyncio.wait_for(client.get(f"/runs/{run_id}/events/stream"), 10)
        assert "event: end" in stream.text.strip().split("\n\n")[-1]

    final = await _read(data, run_id)
    assert [encode(e) for e in final[: len(stored)]] == [encode(e) for e in stored]
    assert [e.seq for e in final] == list(range(1, len(final) + 1))
