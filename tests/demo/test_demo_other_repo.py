"""The demo fixes a repository it was not written for: mathlib returns 7, tests expect 8."""

from __future__ import annotations

import shutil
from pathlib import Path

from demo_support import OTHER_REPO, kinds, run_quietly

from agentos.demo._source import return_literals
from agentos.tools import run_pytest_sync


def test_other_repo_is_fixed(tmp_path: Path) -> None:
    repo = tmp_path / "other_repo"
    shutil.copytree(OTHER_REPO, repo)
    demo = run_quietly(tmp_path / "data", repo=repo, pr_number=7)
    result = demo.result
    assert result.exit_code == 0, result.state.error
    source = (result.workspace / "mathlib" / "magic.py").read_text()
    assert [r.value for r in return_literals(source, "magic_number")] == [8]
    patch = (result.state.nodes["aggregator"].output or {})["patch"]
    assert "-    return 7\n" in patch and "+    return 8\n" in patch
    assert (result.workspace / "tests" / "test_magic_number_regression.py").is_file()
    changelog = (result.workspace / "CHANGELOG.md").read_text()
    assert "magic_number()" in changelog and "(#7)" in changelog
    assert (repo / "mathlib" / "magic.py").read_text() == (
        OTHER_REPO / "mathlib" / "magic.py"
    ).read_text()
    agents = {n for n, node in result.state.nodes.items() if node.status != "skipped"}
    assert agents == set(result.state.nodes) - {"approval"}
    assert {e.node for e in kinds(demo.events, "context_compiled")} == agents
    assert run_pytest_sync(repo).failed == 1
    report = run_pytest_sync(result.workspace)
    assert report.exit_code == 0 and report.passed == 2, report.output_tail
    plan = result.state.nodes["planner"].output or {}
    assert plan["failing"][0]["source"] == "mathlib/magic.py"
    assert plan["failing"][0]["function"] == "magic_number"
