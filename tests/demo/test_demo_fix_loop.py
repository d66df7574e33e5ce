"""The demo's optional fix loop: a failing tester sends the run back to py_fixer with the
failure, at most `max_rounds` rounds (input `fix_loop`, off by default)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from demo_support import SAMPLE_REPO, FinishedDemo, kinds, run_quietly

from agentos.actors.node_context import Next, NodeContext
from agentos.demo import checks
from agentos.demo._agent import DemoAgentError
from agentos.demo._source import return_literals
from agentos.events.model import Envelope
from agentos.eventstore import JsonlEventStore
from agentos.tools import Workspace, run_pytest

WRONG_PATCH = (
    "--- a/calc/answer.py\n+++ b/calc/answer.py\n@@ -3,4 +3,4 @@\n \n"
    " def answer() -> int:\n"
    '     """Return the answer to life, the universe and everything: 42."""\n'
    "-    return 41\n+    return 43\n"
)


@pytest.fixture(scope="module")
def looped(tmp_path_factory: pytest.TempPathFactory) -> FinishedDemo:
    """A demo run whose first fix is off by one (43), with the fix loop on."""
    return run_quietly(
        tmp_path_factory.mktemp("loop-data"),
        repo=SAMPLE_REPO,
        pr_number=42,
        inputs={"fix_loop": True, "wrong_first_fix": True},
    )


def of(events: list[Envelope], kind: str, node: str) -> list[Any]:
    return [e for e in kinds(events, kind) if e.node == node]


def test_the_wrong_first_fix_loops_back_once_and_the_run_succeeds(looped: FinishedDemo) -> None:
    state = looped.result.state
    assert state.status == "succeeded", state.error
    loops = kinds(looped.events, "loop_iterated")
    assert [(e.node, e.data.to, e.data.iteration) for e in loops] == [("tester", "py_fixer", 2)]  # type: ignore[attr-defined]
    assert loops[0].data.body == ["py_fixer", "aggregator", "tester"]  # type: ignore[attr-defined]
    assert kinds(looped.events, "loop_exhausted") == []
    for node in ("py_fixer", "aggregator", "tester"):
        assert state.nodes[node].iteration == 2
    assert state.nodes["fe_fixer"].iteration == 1  # outside the loop: ran once
    assert (state.nodes["tester"].output or {})["round"] == 2


def test_the_first_round_fails_the_tests_with_the_failure(looped: FinishedDemo) -> None:
    first_fix, _ = of(looped.events, "node_succeeded", "py_fixer")
    assert "+    return 43\n" in first_fix.data.output["patch"]
    first, second = of(looped.events, "node_succeeded", "tester")
    assert first.iteration is None and second.iteration == 2
    assert first.data.next == ["py_fixer"]
    assert first.data.output["round"] == 1 and first.data.output["failed"] == 2
    failure = first.data.output["failures"][0]
    assert (failure["function"], failure["expected"], failure["actual"]) == ("answer", "42", "43")
    assert second.data.next is None and second.data.output["failed"] == 0


def test_py_fixer_sees_the_failure_in_its_outputs_and_context(looped: FinishedDemo) -> None:
    _, second_fix = of(looped.events, "node_succeeded", "py_fixer")
    assert "expected 42, got 43" in second_fix.data.output["feedback"]
    assert "-    return 43\n+    return 42\n" in second_fix.data.output["patch"]
    # the pull request still changes 41 into 42, over both rounds
    assert second_fix.data.output["fixes"][0]["old"] == "41"
    first_ctx, second_ctx = of(looped.events, "context_compiled", "py_fixer")
    status = {i["name"]: i["status"] for i in first_ctx.data.manifest["items"]}
    assert status["upstream:tester"] == "dropped"  # nothing to show on the first round
    status = {i["name"]: i["status"] for i in second_ctx.data.manifest["items"]}
    assert status["upstream:tester"] in ("included", "truncated")
    text = asyncio.run(artifact(looped, second_ctx.data.context_artifact))
    assert "expected 42, got 43" in str(text)


async def artifact(demo: FinishedDemo, name: str) -> Any:
    store = JsonlEventStore(demo.data_dir)
    try:
        return await store.get_artifact(demo.result.run_id, name)
    finally:
        await store.close()


async def test_the_workspace_ends_fixed(looped: FinishedDemo) -> None:
    workspace = looped.result.workspace
    source = (workspace / "calc" / "answer.py").read_text()
    assert [r.value for r in return_literals(source, "answer")] == [42]
    report = await run_pytest(workspace)
    assert report.exit_code == 0 and report.passed == 2, report.output_tail
    entry = (looped.result.state.nodes["release"].output or {})["entry"]
    assert "42 instead of 41" in entry and "(#42)" in entry


def test_without_the_loop_the_wrong_fix_fails_the_run(tmp_path: Path) -> None:
    demo = run_quietly(tmp_path, repo=SAMPLE_REPO, inputs={"wrong_first_fix": True})
    state = demo.result.state
    assert state.status == "failed"
    assert state.nodes["aggregator"].status == "failed"
    assert "no proposal fixes the failing tests" in (state.nodes["aggregator"].error or "")
    assert kinds(demo.events, "loop_iterated") == []


def ctx_for_tester(root: Path, before: dict[str, Any] | None, fix_loop: bool) -> NodeContext:
    outputs: dict[str, Any] = {"aggregator": {"patches": [{"patch": WRONG_PATCH}]}}
    if before is not None:
        outputs["tester"] = before
    return NodeContext(
        run_id="run-test",
        node="tester",
        attempt=1,
        inputs={"fix_loop": fix_loop},
        outputs=outputs,
        upstream={},
        params={"pytest_timeout": 60, "max_rounds": 3},
        workspace=Workspace(root),
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE_REPO, tmp_path / "repo", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "repo"


async def test_tester_sends_a_failure_back_before_the_last_round(repo: Path) -> None:
    out = await checks.tester(
        ctx_for_tester(repo, {"round": 1, "applied": ["x.py"]}, fix_loop=True)
    )
    assert isinstance(out, Next) and out.nodes == ["py_fixer"]
    assert out.output["round"] == 2
    assert out.output["applied"] == ["calc/answer.py", "x.py"]  # every round's files
    assert "expected 42, got 43" in out.output["error"]


async def test_tester_fails_on_the_last_round(repo: Path) -> None:
    with pytest.raises(DemoAgentError, match=r"^round 3: 1 failed.*expected 42, got 43"):
        await checks.tester(ctx_for_tester(repo, {"round": 2}, fix_loop=True))


async def test_tester_without_the_loop_fails_at_once(repo: Path) -> None:
    with pytest.raises(DemoAgentError, match=r"^1 failed.*expected 42, got 43"):
        await checks.tester(ctx_for_tester(repo, None, fix_loop=False))
