"""`agentos cancel` (a run nobody drives, a run another process drives, an ended run) and
Ctrl-C on `agentos run` (the run ends cancelled, exit 130, within a second)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Invoke, agentos_script, run_ids, script_env

from agentos.actors import Supervisor
from agentos.eventstore import JsonlEventStore

GRAPH = """\
name: sleepy
nodes:
  - {{name: first, agent: "cancel_agents:{agent}"}}
  - {{name: second, agent: "cancel_agents:{agent}", after: [first]}}
"""


def _graph(tmp_path: Path, agent: str) -> Path:
    path = tmp_path / f"{agent}.yaml"
    path.write_text(GRAPH.format(agent=agent))
    return path


def _events(data: Path, run_id: str) -> list[dict[str, object]]:
    lines = (data / run_id / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _wait_for(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return path.read_text()


@pytest.fixture
def mark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "started"
    monkeypatch.setenv("CANCEL_TEST_MARK", str(path))
    return path


@pytest.fixture
def child(data: Path, mark: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """`agentos run` child processes, killed if a test leaves one behind."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def _run_child(data: Path, graph: Path, mark: Path) -> subprocess.Popen[str]:
    env = script_env()
    env["CANCEL_TEST_MARK"] = str(mark)
    return subprocess.Popen(
        [agentos_script(), "--data", str(data), "run", str(graph)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_on_agentos_run_cancels_the_run_within_a_second(
    tmp_path: Path, data: Path, mark: Path, child: list[subprocess.Popen[str]]
) -> None:
    proc = _run_child(data, _graph(tmp_path, "sleeper"), mark)  # a thread agent, 30 s
    child.append(proc)
    run_id = _wait_for(mark)
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    # the thread agent sleeps 30 s: the process must not wait for it (how fast it ends
    # is measured, not asserted: a loaded machine may take longer than the usual < 1 s)
    assert time.monotonic() - began < 10
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [f"error: interrupted: run {run_id} cancelled"]
    events = _events(data, run_id)
    assert [e["type"] for e in events[-2:]] == ["node_cancelled", "run_cancelled"]
    assert events[-1]["data"] == {"reason": "interrupted by the user (Ctrl-C)"}


def test_cancel_reaches_the_process_that_drives_the_run(
    tmp_path: Path, invoke: Invoke, data: Path, mark: Path, child: list[subprocess.Popen[str]]
) -> None:
    proc = _run_child(data, _graph(tmp_path, "hang"), mark)
    child.append(proc)
    run_id = _wait_for(mark)
    result = invoke("cancel", run_id, "--reason", "not needed")
    assert result.exit_code == 0, result.output
    # exit 0: the owner took the request before the command's 10 s wait ran out (the
    # agent hangs, so only the cancel could end the run)
    assert f"run {run_id} cancelled" in result.output
    proc.communicate(timeout=30)
    assert proc.returncode == 1  # its run did not succeed
    events = _events(data, run_id)
    assert [e["type"] for e in events[-2:]] == ["node_cancelled", "run_cancelled"]
    assert events[-1]["data"] == {"reason": "not needed"}
    assert not (data / ".cancel-requests" / run_id).exists()


def test_cancel_of_a_run_nobody_drives_writes_its_log(
    tmp_path: Path, invoke: Invoke, data: Path, mark: Path
) -> None:
    async def leave_running() -> str:
        store = JsonlEventStore(data, durable=False)
        sup = Supervisor.start(_graph(tmp_path, "hang"), store, agents=None)
        run_id = await sup.start_run()
        await asyncio.to_thread(_wait_for, mark)
        await sup.stop()  # the run stays unfinished, its log released
        await store.close()
        return run_id

    run_id = asyncio.run(leave_running())
    assert _events(data, run_id)[-1]["type"] == "node_started"
    result = invoke("cancel", run_id)
    assert result.exit_code == 0, result.output
    events = _events(data, run_id)
    assert [(e["type"], e["node"]) for e in events[-2:]] == [
        ("node_cancelled", "first"),
        ("run_cancelled", None),
    ]
    assert events[-1]["data"] == {"reason": "cancelled by the user"}
    assert invoke("runs", "--json").output.count('"cancelled"') == 1


def test_cancel_of_an_ended_run_changes_nothing(invoke: Invoke, data: Path, done_run: str) -> None:
    before = (data / done_run / "events.jsonl").read_bytes()
    result = invoke("cancel", done_run)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: run {done_run} already ended: succeeded (nothing to cancel)"
    ]
    assert (data / done_run / "events.jsonl").read_bytes() == before


def test_cancel_of_an_unknown_run_is_a_usage_error(invoke: Invoke, data: Path) -> None:
    data.mkdir()
    result = invoke("cancel", "run-nope")
    assert result.exit_code == 2
    assert "unknown run 'run-nope'" in result.output
    assert run_ids(data) == []
