"""`agentos run`: progress, summary, --json, exit codes and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_support import Invoke, run_ids

from agentos.state.run_state import RunState


def test_run_shows_progress_and_summary(invoke: Invoke, small: Path, data: Path) -> None:
    result = invoke("run", str(small))
    assert result.exit_code == 0, result.output
    (run_id,) = run_ids(data)
    out = result.stdout
    assert f"run {run_id} of small started" in out
    for node in "abcd":
        assert f"ok {node}" in out
    assert "run succeeded" in out
    assert "status succeeded" in out and "events 11" in out
    assert f"log: {data / run_id / 'events.jsonl'}" in out


def test_run_json_is_the_whole_final_state(invoke: Invoke, small: Path, data: Path) -> None:
    result = invoke(
        "run",
        str(small),
        "-i",
        "n=7",
        "-i",
        "flag=true",
        "-i",
        "name=hi there",
        "-i",
        'obj={"a": [1]}',
        "--json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == set(RunState.model_fields)
    state = RunState.model_validate(doc)
    assert state.status == "succeeded"
    assert state.inputs == {"n": 7, "flag": True, "name": "hi there", "obj": {"a": [1]}}
    assert [n.status for n in state.nodes.values()] == ["succeeded"] * 4
    assert "started" in result.stderr  # progress goes to stderr with --json


def test_inputs_json_file_under_input_options(invoke: Invoke, small: Path, tmp_path: Path) -> None:
    file = tmp_path / "inputs.json"
    file.write_text('{"a": 1, "b": "x"}')
    result = invoke("run", str(small), "--inputs-json", str(file), "-i", "b=2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inputs"] == {"a": 1, "b": 2}


def test_failed_run_exits_1(invoke: Invoke, failing: Path) -> None:
    result = invoke("run", str(failing))
    assert result.exit_code == 1
    assert "boom [on purpose]" in result.stdout
    assert "status failed" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "novalue"], "--input 'novalue' is not key=value"),
        (["-i", "=3"], "is not key=value"),
        (["--inputs-json", "missing.json"], "does not exist"),
    ],
)
def test_malformed_input_is_a_usage_error(
    invoke: Invoke, small: Path, data: Path, args: list[str], message: str
) -> None:
    result = invoke("run", str(small), *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not data.exists()


def test_inputs_json_must_be_an_object(invoke: Invoke, small: Path, tmp_path: Path) -> None:
    for text, message in [("[1]", "must hold a JSON object"), ("{oops", "not valid JSON")]:
        file = tmp_path / "in.json"
        file.write_text(text)
        result = invoke("run", str(small), "--inputs-json", str(file))
        assert result.exit_code == 2 and message in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: bad\nnodes:\n  - {name: a, agent: 'nope:x', after: [zz]}\n", "unknown node 'zz'"),
        ("name: bad\nnodes:\n  - {name: a, agent: 'nope:x'}\n", "unknown agent 'nope:x'"),
        ("name: [\n", "invalid YAML"),
        ("name: bad\nnodes: []\n", "nodes"),
    ],
)
def test_invalid_graph_writes_nothing(
    invoke: Invoke, tmp_path: Path, data: Path, text: str, message: str
) -> None:
    graph = tmp_path / "bad.yaml"
    graph.write_text(text)
    result = invoke("run", str(graph))
    assert result.exit_code == 2
    assert "error: graph" in result.stderr and message in result.stderr
    assert "fix the graph" in result.stderr
    assert "Traceback" not in result.output
    assert not data.exists()


def test_unknown_graph_name_and_missing_file(invoke: Invoke, data: Path) -> None:
    result = invoke("run", "no-such-graph")
    assert result.exit_code == 2
    assert "unknown graph 'no-such-graph'" in result.stderr
    assert "git-to-prod-multi" in result.stderr
    result = invoke("run", "missing.yaml")
    assert result.exit_code == 2 and "file not found" in result.stderr
    assert not data.exists()


def test_missing_workspace_source_writes_nothing(
    invoke: Invoke, data: Path, tmp_path: Path
) -> None:
    result = invoke("run", "git-to-prod-multi", "-i", f"repo={tmp_path / 'nowhere'}")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "--input" in result.stderr
    assert run_ids(data) == []
    assert not any(p.name.startswith("run-") for p in data.glob("*"))


def test_debug_shows_the_traceback(invoke: Invoke, tmp_path: Path) -> None:
    graph = tmp_path / "bad.yaml"
    graph.write_text("name: bad\nnodes:\n  - {name: a, agent: 'nope:x'}\n")
    result = invoke("--debug", "run", str(graph))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and "GraphValidationError" in result.stderr


def test_shipped_demo_graph_by_name(invoke: Invoke, data: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(Path(__file__).parents[2] / "examples" / "sample_repo", repo)
    result = invoke("run", "git-to-prod-multi", "--input", "pr_number=7", "--input", f"repo={repo}")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for node in ("planner", "aggregator", "tester", "security", "release"):
        assert f"ok {node}" in out
    assert "status succeeded" in out and "model calls 8" in out
    (run_id,) = run_ids(data)
    assert (data / run_id / "workspace").is_dir()
