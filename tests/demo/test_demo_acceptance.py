"""Acceptance of the demo run on examples/sample_repo: the original design's checks."""

from __future__ import annotations

from pathlib import Path

from demo_support import SAMPLE_REPO, FinishedDemo, kinds

from agentos.demo import load_demo_graph
from agentos.demo._source import return_literals
from agentos.state import fold
from agentos.tools import run_pytest

NODES = [n.name for n in load_demo_graph().nodes if n.agent]  # the eight agents
PARALLEL = ("py_fixer", "fe_fixer", "test_writer")


def test_run_succeeds_with_a_log(demo: FinishedDemo) -> None:
    result = demo.result
    assert result.state.status == "succeeded", result.state.error
    assert result.exit_code == 0
    assert result.log_path == demo.data_dir / result.run_id / "events.jsonl"
    assert len(demo.events) >= 8
    assert demo.events[-1].seq == result.state.last_seq
    assert all(result.state.nodes[n].status == "succeeded" for n in NODES)
    # the approval wait node is off by default: security chose release
    assert result.state.nodes["approval"].status == "skipped"
    assert result.state.nodes["security"].next == ["release"]


def test_every_node_has_a_manifest_and_a_model(demo: FinishedDemo) -> None:
    events = demo.events
    for kind in ("context_compiled", "model_selected", "model_called", "node_succeeded"):
        assert {e.node for e in kinds(events, kind)} == set(NODES), kind
    for node in (demo.result.state.nodes[n] for n in NODES):
        assert node.usage.calls == 1
        assert node.usage.tokens_in > 0
        assert node.usage.cost > 0
    items = [i for e in kinds(events, "context_compiled") for i in e.data.manifest["items"]]  # type: ignore[attr-defined]
    assert any(i["status"] == "truncated" for i in items)
    assert any(i["status"] == "dropped" for i in items)


def test_bug_is_fixed_in_the_workspace(demo: FinishedDemo) -> None:
    workspace = demo.result.workspace
    assert workspace == demo.data_dir / demo.result.run_id / "workspace"
    source = (workspace / "calc" / "answer.py").read_text()
    assert [r.value for r in return_literals(source, "answer")] == [42]
    patch = demo.result.state.nodes["aggregator"].output["patch"]  # type: ignore[index]
    assert "-    return 41\n" in patch
    assert "+    return 42\n" in patch
    written = {e.data.path for e in kinds(demo.events, "file_written")}  # type: ignore[attr-defined]
    assert written == {"calc/answer.py", "tests/test_answer_regression.py", "CHANGELOG.md"}
    original = (SAMPLE_REPO / "calc" / "answer.py").read_text()
    assert [r.value for r in return_literals(original, "answer")] == [41]


async def test_pytest_passes_on_the_fixed_workspace(demo: FinishedDemo) -> None:
    report = await run_pytest(demo.result.workspace)
    assert report.exit_code == 0, report.output_tail
    assert report.failed == 0
    assert report.passed == 2  # the original test and the regression test
    before = await run_pytest(SAMPLE_REPO)
    assert before.failed == 1
    tester = demo.result.state.nodes["tester"].output or {}
    assert tester["passed"] == 2 and tester["failed"] == 0
    assert tester["duration"] > 0


def test_status_progression(demo: FinishedDemo) -> None:
    events = demo.events
    assert fold(events, 1).status == "pending"
    statuses = [fold(events, e.seq).status for e in events]
    first_running = statuses.index("running")
    assert set(statuses[:first_running]) == {"pending"}
    assert statuses[-1] == "succeeded"
    assert set(statuses[first_running:-1]) == {"running"}


def test_parallel_agents_overlap(demo: FinishedDemo) -> None:
    events = demo.events
    started = {e.node: e.seq for e in kinds(events, "node_started") if e.node in PARALLEL}
    ended = {e.node: e.seq for e in kinds(events, "node_succeeded") if e.node in PARALLEL}
    assert set(started) == set(ended) == set(PARALLEL)
    assert max(started.values()) < min(ended.values())
    lines = [line for line in demo.printed.splitlines() if any(p in line for p in PARALLEL)]
    assert ["started" in line for line in lines[:3]] == [True] * 3


def test_changelog_has_the_pr_entry(demo: FinishedDemo) -> None:
    changelog = (demo.result.workspace / "CHANGELOG.md").read_text()
    lines = changelog.splitlines()
    entry = next(line for line in lines if "(#42)" in line)
    assert lines.index("## Unreleased") < lines.index(entry)
    assert "answer()" in entry and "42 instead of 41" in entry
    release = demo.result.state.nodes["release"].output or {}
    assert release["entry"] == entry
    assert release["pr_number"] == 42


def test_security_finds_nothing_in_the_fix(demo: FinishedDemo) -> None:
    scan = demo.result.state.nodes["security"].output or {}
    assert scan["findings"] == []
    assert scan["scanned"] == ["calc/answer.py", "tests/test_answer_regression.py"]
    assert scan["fail_on"] == "high"


def test_aggregator_scores_and_picks_the_python_fix(demo: FinishedDemo) -> None:
    out = demo.result.state.nodes["aggregator"].output or {}
    scores = {n: s["score"] for n, s in out["scores"].items()}
    assert scores["py_fixer"] == 1.0
    assert scores["fe_fixer"] == 0
    assert 0 < scores["test_writer"] < scores["py_fixer"]
    assert out["chosen"] == "py_fixer"
    assert out["extras"] == ["test_writer"]
    assert "py_fixer" in out["reason"]


def test_console_shows_progress_and_summary(demo: FinishedDemo) -> None:
    printed = demo.printed
    for node in NODES:
        assert f"{node}" in printed
    assert printed.count(" started") >= len(NODES)
    assert demo.result.run_id in printed
    assert "+    return 42" in printed
    assert "tokens and cost per node" in printed
    assert str(Path(demo.result.log_path)) in printed.replace("\n", "")
