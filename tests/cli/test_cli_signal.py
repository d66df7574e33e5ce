"""`agentos signal`: a waiting run killed with -9, signalled while nobody drives it, resumed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Invoke, agentos_script, read_until, script_env

APPROVAL = """\
name: approve
nodes:
  - {name: planner, agent: "cli_agents:echo"}
  - {name: approval, after: [planner], wait: approval}
  - {name: publish, agent: "cli_agents:echo", after: [approval]}
"""


@pytest.fixture
def waiting_run(tmp_path: Path, data: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`agentos run` of planner -> approval (wait) -> publish in a child, now waiting."""
    graph = tmp_path / "approve.yaml"
    graph.write_text(APPROVAL)
    proc = subprocess.Popen(
        [agentos_script(), "--data", str(data), "run", str(graph)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=script_env() | {"COLUMNS": "200"},
    )
    try:
        out = read_until(proc, r"approval\s+waiting for signal approval")
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    match = re.search(r"run (\S+) of approve started", out)
    assert match, out
    yield proc, match.group(1)
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _status(invoke: Invoke, run_id: str) -> str:
    rows = {r["run_id"]: r for r in json.loads(invoke("runs", "--json").stdout)}
    return str(rows[run_id]["status"])


def test_a_killed_waiting_run_takes_a_signal_on_resume(
    invoke: Invoke, waiting_run: tuple[subprocess.Popen[str], str]
) -> None:
    proc, run_id = waiting_run
    assert _status(invoke, run_id) == "waiting"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # resumed without a signal, it keeps waiting (not restarted as interrupted)
    state = json.loads(invoke("events", run_id, "--summary", "--json").stdout)
    assert state["status"] == "waiting"
    assert state["waiting"]["approval"]["signal"] == "approval"
    payload = {"approved": True, "by": "ana", "comment": "ship it"}
    sent = invoke("signal", run_id, "approval", "--data", json.dumps(payload))
    assert sent.exit_code == 0, sent.output
    assert "node approval waits for it" in sent.stdout
    result = invoke("resume", run_id, "--json")
    assert result.exit_code == 0, result.output
    final = json.loads(result.stdout)
    assert final["status"] == "succeeded"
    assert final["nodes"]["approval"]["output"] == payload
    assert final["nodes"]["publish"]["status"] == "succeeded"
    lines = invoke("events", run_id, "--json").stdout.splitlines()
    kinds = [json.loads(line)["type"] for line in lines]
    assert kinds.count("signal_received") == 1
    assert "node_retrying" not in kinds  # the wait was not taken for an interrupted attempt


def test_a_signal_reaches_the_process_that_drives_the_run(
    invoke: Invoke, waiting_run: tuple[subprocess.Popen[str], str]
) -> None:
    proc, run_id = waiting_run
    payload = {"approved": True, "by": "ana"}
    sent = invoke("signal", run_id, "approval", "--data", json.dumps(payload))
    assert sent.exit_code == 0, sent.output
    assert "delivered to run" in sent.stdout and "driven by another process" in sent.stdout
    out, _ = proc.communicate(timeout=30)  # the `agentos run` that waited carries on
    assert proc.returncode == 0, out
    assert "run succeeded" in out
    final = json.loads(invoke("events", run_id, "--summary", "--json").stdout)
    assert final["nodes"]["approval"]["output"] == payload


def test_a_rejection_reaches_the_driving_process_and_fails_the_run(
    invoke: Invoke, waiting_run: tuple[subprocess.Popen[str], str]
) -> None:
    proc, run_id = waiting_run
    data = '{"approved": false, "by": "ana", "comment": "not yet"}'
    assert invoke("signal", run_id, "approval", "--data", data).exit_code == 0
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1, out
    final = json.loads(invoke("events", run_id, "--summary", "--json").stdout)
    assert final["status"] == "failed"
    assert "rejected by ana: not yet" in final["error"]


def test_bad_signal_data_is_one_line_and_exit_2(invoke: Invoke, done_run: str) -> None:
    for data in ("{not json", "[1, 2]", '"text"'):
        result = invoke("signal", done_run, "approval", "--data", data)
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) <= 2  # message and hint
        assert "Traceback" not in result.stderr


def test_a_signal_to_an_ended_run_is_refused(invoke: Invoke, done_run: str, data: Path) -> None:
    before = (data / done_run / "events.jsonl").read_bytes()
    result = invoke("signal", done_run, "approval")
    assert result.exit_code == 1 and "has ended" in result.stderr
    assert (data / done_run / "events.jsonl").read_bytes() == before


def test_a_signal_to_an_unknown_run_is_refused(invoke: Invoke, done_run: str) -> None:
    result = invoke("signal", "nope", "approval")
    assert result.exit_code == 2 and "unknown run 'nope'" in result.stderr
