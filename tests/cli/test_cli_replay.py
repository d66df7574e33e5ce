"""`agentos replay`: fork and execute from a step, or show the state at a step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Invoke, run_ids

from agentos.state.run_state import RunState


def test_replay_from_a_node(invoke: Invoke, done_run: str, data: Path) -> None:
    result = invoke("replay", done_run, "--from-step", "d")
    assert result.exit_code == 0, result.output
    (new_id,) = set(run_ids(data)) - {done_run}
    out = result.stdout
    assert f"replay {new_id} of {done_run} from step d started" in out
    assert "ok d" in out and "ok a" not in out  # only what runs after the fork
    assert f"replayed from {done_run} at step d" in out


def test_replay_from_a_seq_as_json(invoke: Invoke, done_run: str, data: Path) -> None:
    result = invoke("replay", done_run, "--from-step", "3", "--json")
    assert result.exit_code == 0, result.output
    state = RunState.model_validate(json.loads(result.stdout))
    assert state.status == "succeeded" and state.replayed_from is not None
    assert state.replayed_from.source_run == done_run and state.replayed_from.from_seq == 3


def test_show_state_at_a_step(invoke: Invoke, done_run: str, data: Path) -> None:
    result = invoke("replay", done_run, "--to-step", "d", "--show")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"run {done_run} (small) at step d" in out
    assert "output: node, inputs" in out and "pending" in out
    assert "workspace files changed: none" in out
    result = invoke("replay", done_run, "--to-step", "3", "--show", "--json")
    doc = json.loads(result.stdout)
    assert set(doc) == set(RunState.model_fields)
    assert doc["last_seq"] == 3 and doc["nodes"]["a"]["status"] == "running"
    assert run_ids(data) == [done_run]  # nothing executed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-step", "zz"], "never started step 'zz'"),
        (["--from-step", "99"], "has no seq 99"),
        (["--from-step", "11"], "after the run ended"),
        (["--to-step", "zz", "--show"], "never started step 'zz'"),
        (["--to-step", "0", "--show"], "no seq 0"),
        (["--to-step", "3"], "--to-step needs --show"),
        (["--from-step", "a", "--show"], "--show goes with --to-step"),
        (["--from-step", "a", "--to-step", "b"], "exactly one of"),
        ([], "exactly one of"),
    ],
)
def test_bad_steps_write_nothing(
    invoke: Invoke, done_run: str, data: Path, args: list[str], message: str
) -> None:
    result = invoke("replay", done_run, *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert run_ids(data) == [done_run]


def test_unknown_run(invoke: Invoke, done_run: str, data: Path) -> None:
    result = invoke("replay", "nope", "--from-step", "a")
    assert result.exit_code == 2 and "unknown run 'nope'" in result.stderr
    assert run_ids(data) == [done_run]
