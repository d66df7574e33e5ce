"""`agentos diff` on real runs of the small graph: a replay against its source, two
runs with other inputs, --json, and unknown runs."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Invoke, run_ids

from agentos.state.diff import RunDiff


def test_a_replay_against_its_source(invoke: Invoke, done_run: str, data: Path) -> None:
    assert invoke("replay", done_run, "--from-step", "d").exit_code == 0
    (replay,) = set(run_ids(data)) - {done_run}
    result = invoke("diff", done_run, replay, "--json")
    assert result.exit_code == 0, result.output
    diff = RunDiff.model_validate(json.loads(result.stdout))
    assert diff.same  # d ran again with the same inputs: the same output
    assert [s.step for s in diff.steps] == ["a", "b", "c", "d"]
    assert all(s.ran == "both" for s in diff.steps)
    assert diff.b.replayed_from == done_run
    # the copied events are the source's; the fork's own marker comes next
    assert diff.diverged is not None and diff.diverged.b is not None
    assert diff.diverged.b.type == "replayed_from"
    text = invoke("diff", done_run, replay).stdout
    assert f"replay of {done_run}" in text
    assert (
        f"the logs diverge at seq {diff.diverged.seq} (a: node_started d, b: replayed_from)" in text
    )
    assert "every step is the same in both" in text


def test_two_runs_with_other_inputs(invoke: Invoke, small: Path, data: Path) -> None:
    assert invoke("run", str(small), "--input", "x=1").exit_code == 0
    assert invoke("run", str(small), "--input", "x=2").exit_code == 0
    first, second = sorted(run_ids(data), key=lambda r: (data / r / "events.jsonl").stat().st_mtime)
    result = invoke("diff", first, second, "--json")
    diff = RunDiff.model_validate(json.loads(result.stdout))
    assert not diff.same
    assert {s.step: s.changes for s in diff.steps} == {n: ["output"] for n in "abcd"}
    (change,) = diff.steps[0].output
    assert (change.path, change.a, change.b) == ("inputs.x", 1, 2)
    assert diff.diverged is not None and diff.diverged.seq == 1  # run_created's inputs
    text = invoke("diff", first, second).stdout
    assert "a.output inputs.x: a 1 | b 2" in text
    assert "the logs diverge at seq 1 (a: run_created, b: run_created)" in text


def test_an_unknown_run_is_a_usage_error(invoke: Invoke, done_run: str) -> None:
    result = invoke("diff", done_run, "nope")
    assert result.exit_code == 2
    assert "unknown run 'nope'" in result.stderr
