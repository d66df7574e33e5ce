"""examples/research-report.yaml end to end through the CLI: a map decided at run time,
a review loop, an approval sent from another process, a child run; and a kill -9 while
it waits for the approval."""

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

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "research-report.yaml"
TOPIC = "solar power, wind power and grid batteries"  # three aspects: three researchers


@pytest.fixture
def waiting_report(data: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """`agentos run examples/research-report.yaml` in a child process, now waiting."""
    proc = subprocess.Popen(
        [agentos_script(), "--data", str(data), "run", str(EXAMPLE), "--input", f"topic={TOPIC}"],
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
    match = re.search(r"run (\S+) of research-report started", out)
    assert match, out
    yield proc, match.group(1), out
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _events(invoke: Invoke, run_id: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in invoke("events", run_id, "--json").stdout.splitlines()]


def _check_report(invoke: Invoke, data: Path, run_id: str) -> None:
    state = json.loads(invoke("events", run_id, "--summary", "--json").stdout)
    assert state["status"] == "succeeded", state["error"]
    nodes = state["nodes"]
    assert nodes["researcher"]["instances"] == 3
    assert [nodes[f"researcher[{i}]"]["status"] for i in range(3)] == ["succeeded"] * 3
    assert nodes["writer"]["iteration"] == 2  # the reviewer sent the first draft back
    assert nodes["approval"]["output"]["by"] == "ana"
    child = nodes["notify"]["child_run"]
    assert child == f"{run_id}.notify" and (data / child / "events.jsonl").is_file()
    child_state = json.loads(invoke("events", child, "--summary", "--json").stdout)
    assert child_state["status"] == "succeeded"
    assert child_state["parent"] == {"run_id": run_id, "node": "notify"}
    events = _events(invoke, run_id)
    kinds = [e["type"] for e in events]
    for kind in ("map_expanded", "loop_iterated", "node_waiting", "signal_received"):
        assert kind in kinds, kind
    assert "child_started" in kinds
    started = {(e["node"], e.get("iteration", 1)) for e in events if e["type"] == "node_started"}
    assert {("writer", 1), ("writer", 2), ("researcher[2]", 1)} <= started


def test_the_report_runs_and_an_approval_from_another_process_finishes_it(
    invoke: Invoke, data: Path, waiting_report: tuple[subprocess.Popen[str], str, str]
) -> None:
    proc, run_id, before = waiting_report
    approval = {"approved": True, "by": "ana", "comment": "ship it"}
    sent = invoke("signal", run_id, "approval", "--data", json.dumps(approval))
    assert sent.exit_code == 0, sent.output
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "researcher[2]" in before and "writer#2" in before  # the live progress names them
    assert "notify" in out and "run succeeded" in out
    _check_report(invoke, data, run_id)
    # replay addresses instances and passes: the state just before each started
    shown = invoke("replay", run_id, "--to-step", "researcher[1]", "--show", "--json")
    assert shown.exit_code == 0, shown.output
    nodes = json.loads(shown.stdout)["nodes"]
    assert nodes["researcher"]["instances"] == 3 and nodes["researcher[1]"]["status"] == "pending"
    shown = invoke("replay", run_id, "--to-step", "writer#2", "--show", "--json")
    nodes = json.loads(shown.stdout)["nodes"]
    assert (nodes["writer"]["iteration"], nodes["writer"]["status"]) == (2, "pending")
    assert nodes["writer"]["previous_output"] is not None  # what pass 2 starts from


def test_killed_while_waiting_it_resumes_still_waiting_and_finishes(
    invoke: Invoke, data: Path, waiting_report: tuple[subprocess.Popen[str], str, str]
) -> None:
    proc, run_id, _ = waiting_report
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _events(invoke, run_id)
    state = json.loads(invoke("events", run_id, "--summary", "--json").stdout)
    assert state["status"] == "waiting"
    approval = {"approved": True, "by": "ana"}
    sent = invoke("signal", run_id, "approval", "--data", json.dumps(approval))
    assert sent.exit_code == 0 and "node approval waits for it" in sent.stdout, sent.output
    result = invoke("resume", run_id, "--json")
    assert result.exit_code == 0, result.output
    _check_report(invoke, data, run_id)
    after = _events(invoke, run_id)
    assert after[: len(before)] == before  # nothing acknowledged was lost or rewritten
    ran_again = [e for e in after[len(before) :] if e["type"] == "node_started"]
    assert {e["node"] for e in ran_again} == {"publish", "notify"}  # no researcher re-ran
