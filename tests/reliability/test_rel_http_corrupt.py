"""Corrupt or foreign logs over HTTP, on a real uvicorn server: every way of tampering
of rel_tamper.py, through every endpoint that reads a run, gets a 409 whose JSON
`detail` names the file (inside the data dir) and the line; the run is listed as
`corrupt` with the reason; its event stream ends with an error frame; nothing is
changed. A run whose only batch was torn is no run.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from rel_http_server import TERMINAL, fast_graph, thread_server
from rel_tamper import TAMPERINGS, Tampering, finished_runs, tamper

TIMEOUT = 20.0


@dataclass
class Server:
    base: str
    root: Path
    runs: dict[str, str]  # tampering name -> run id

    def log(self, run_id: str) -> Path:
        return self.root / run_id / "events.jsonl"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over a data dir with one finished run per tampering, each tampered, and
    a run whose only batch was torn."""
    root = tmp_path_factory.mktemp("corrupt") / "data"
    *run_ids, other = asyncio.run(finished_runs(root, len(TAMPERINGS) + 1))
    runs = dict(zip([t.name for t in TAMPERINGS], run_ids, strict=True))
    for how in TAMPERINGS:
        tamper(root / runs[how.name] / "events.jsonl", how, root / other / "events.jsonl")
    first = (root / other / "events.jsonl").read_bytes().split(b"\n")[0]
    (root / "torn-run").mkdir()
    (root / "torn-run" / "events.jsonl").write_bytes(first[:-9])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENTOS_FSYNC", "0")
        mp.delenv("AGENTOS_API_TOKEN", raising=False)
        with thread_server(root) as base:
            yield Server(base, root, runs)


def check_detail(detail: Any, run_id: str, how: Tampering) -> None:
    """The detail names the log inside the data dir and the line of the tampering."""
    assert isinstance(detail, str), detail
    assert f"{run_id}/events.jsonl: line " in detail, detail
    assert any(f"line {n}:" in detail for n in how.lines), detail


ENDPOINTS = [
    ("GET", "/runs/{id}", None),
    ("GET", "/runs/{id}/events", None),
    ("GET", "/runs/{id}/events?type=node_started", None),
    ("GET", "/dashboard/runs/{id}", None),
    ("GET", "/dashboard/runs/{id}/panel", None),
    ("POST", "/runs/{id}/replay", {"from_step": 2}),
    ("POST", "/runs/{id}/replay", {"from_step": "planner"}),
]


@pytest.mark.parametrize("how", TAMPERINGS, ids=lambda t: t.name)
@pytest.mark.parametrize(
    ("method", "url", "body"), ENDPOINTS, ids=[f"{m} {u} {b}" for m, u, b in ENDPOINTS]
)
def test_every_endpoint_answers_409_naming_file_and_line(
    server: Server, how: Tampering, method: str, url: str, body: dict[str, Any] | None
) -> None:
    run_id = server.runs[how.name]
    before = server.log(run_id).read_bytes()
    listed = {p.name for p in server.root.iterdir()}
    res = httpx.request(method, server.base + url.format(id=run_id), json=body, timeout=TIMEOUT)
    assert res.status_code == 409, res.text
    assert res.headers["content-type"] == "application/json"
    check_detail(res.json()["detail"], run_id, how)
    assert server.log(run_id).read_bytes() == before, "a refused request changes nothing"
    assert {p.name for p in server.root.iterdir()} == listed, "no replay run was made"


def test_corrupt_runs_are_listed_with_the_reason(server: Server) -> None:
    res = httpx.get(f"{server.base}/runs", timeout=TIMEOUT)
    assert res.status_code == 200, res.text
    rows = {r["run_id"]: r for r in res.json()}
    assert "torn-run" not in rows, "a log without an acknowledged event is no run"
    html = httpx.get(f"{server.base}/dashboard", timeout=TIMEOUT).text
    for how in TAMPERINGS:
        run_id = server.runs[how.name]
        row = rows[run_id]
        assert row["status"] == "corrupt", row
        check_detail(row["error"], run_id, how)
        assert f'<tr data-run="{run_id}">' in html
    assert html.count('class="badge s-corrupt"') == len(TAMPERINGS)
    assert httpx.get(f"{server.base}/runs/torn-run", timeout=TIMEOUT).status_code == 404


def sse_frames(text: str) -> list[dict[str, str]]:
    """The fields of every SSE frame with data."""
    frames = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            frames.append(fields)
    return frames


@pytest.mark.parametrize("how", TAMPERINGS, ids=lambda t: t.name)
def test_the_stream_of_a_corrupt_run_ends_with_an_error_frame(
    server: Server, how: Tampering
) -> None:
    run_id = server.runs[how.name]
    url = f"{server.base}/runs/{run_id}/events/stream"
    with httpx.stream("GET", url, timeout=TIMEOUT) as res:  # a hang is a read timeout
        assert res.status_code == 200
        frames = sse_frames(res.read().decode())
    *events, last = frames
    assert last["event"] == "error" and "id" not in last, last
    check_detail(json.loads(last["data"])["detail"], run_id, how)
    assert [int(f["id"]) for f in events] == list(range(1, len(events) + 1))
    assert all(f["event"] == "message" for f in events)


def test_a_log_tampered_while_the_server_runs_is_seen(server: Server) -> None:
    """A run read (and its fold kept) before its log was tampered is not served stale."""
    assert httpx.post(f"{server.base}/graphs", json=fast_graph()).status_code == 200
    run_id = httpx.post(f"{server.base}/runs", json={"graph": "fast"}).json()["run_id"]
    deadline = time.monotonic() + TIMEOUT
    while (state := httpx.get(f"{server.base}/runs/{run_id}").json())["status"] not in TERMINAL:
        assert time.monotonic() < deadline, state
        time.sleep(0.01)
    assert httpx.get(f"{server.base}/runs/{run_id}/events").status_code == 200
    flip = TAMPERINGS[0]
    log, tmp = server.log(run_id), server.log(run_id).with_suffix(".tmp")
    tmp.write_bytes(flip.apply(log.read_bytes(), b""))
    tmp.replace(log)  # a new inode: whatever the clock's resolution, the change shows
    res = httpx.get(f"{server.base}/runs/{run_id}")
    assert res.status_code == 409, res.text
    check_detail(res.json()["detail"], run_id, flip)
    rows = {r["run_id"]: r for r in httpx.get(f"{server.base}/runs").json()}
    assert rows[run_id]["status"] == "corrupt"
