"""Crash and resume for real: SIGKILL a child mid-run, resume it in another process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentos.eventstore import JsonlEventStore
from agentos.state import fold

HERE = Path(__file__).parent


def _child(mode: str, data: Path, run_id: str, log: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE),
        "AGENTOS_TEST_EXEC_LOG": str(log),
        "AGENTOS_TEST_SLEEP": "0.1",
    }
    return subprocess.Popen(
        [sys.executable, str(HERE / "runtime_child.py"), mode, str(data), run_id],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _executions(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(line.split()[1], int(line.split()[2])) for line in log.read_text().splitlines()]


@pytest.mark.parametrize("kill_after", [0.0, 0.12, 0.25, 0.45])
async def test_killed_run_resumes_without_rerunning_succeeded_nodes(
    tmp_path: Path, kill_after: float
) -> None:
    data, log, run_id = tmp_path / "data", tmp_path / "exec.log", "run-kill"
    child = _child("start", data, run_id, log)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    time.sleep(kill_after)
    child.send_signal(signal.SIGKILL)
    child.wait()

    store = JsonlEventStore(data)
    before = fold(await store.read_all(run_id))
    await store.close()
    assert not before.finished
    done_before = {n for n, s in before.nodes.items() if s.status == "succeeded"}
    ran_before = len(_executions(log))

    resumed = _child("resume", data, run_id, log)
    out, _ = resumed.communicate(timeout=60)
    assert resumed.returncode == 0
    assert out.strip().splitlines()[-1] == "succeeded"

    store = JsonlEventStore(data)
    events = await store.read_all(run_id)
    await store.close()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    after = fold(events)
    assert after.status == "succeeded"
    assert {s.status for s in after.nodes.values()} == {"succeeded"}
    rerun = {node for node, _ in _executions(log)[ran_before:]}
    assert not rerun & done_before, f"succeeded nodes ran again: {rerun & done_before}"
    for node in before.nodes:
        if before.nodes[node].status == "running":
            assert after.nodes[node].attempts == before.nodes[node].attempts + 1
