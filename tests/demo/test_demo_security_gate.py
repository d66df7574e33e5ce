"""The security agent blocks the release when a patch brings in eval()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from demo_support import SAMPLE_REPO, kinds, run_quietly

from agentos.actors.node_context import NodeContext
from agentos.agents import AgentRegistry
from agentos.demo import register_demo_agents
from agentos.demo._agent import DemoAgentError
from agentos.demo.checks import security
from agentos.demo.fixers import py_fixer
from agentos.tools import Workspace, apply_unified_patch, make_patch

UNSAFE = "\n\ndef _debug(expr: str) -> object:\n    return eval(expr)\n"


def fake_ctx(
    root: Path, outputs: dict[str, Any], fail_on: str = "high", inputs: dict[str, Any] | None = None
) -> NodeContext:
    return NodeContext(
        run_id="run-test",
        node="security",
        attempt=1,
        inputs=inputs or {},
        outputs=outputs,
        upstream={},
        params={"fail_on": fail_on},
        workspace=Workspace(root),
    )


async def test_security_agent_fails_on_eval(tmp_path: Path) -> None:
    (tmp_path / "calc").mkdir()
    (tmp_path / "calc" / "answer.py").write_text(f"def answer() -> int:\n    return 42{UNSAFE}")
    (tmp_path / "calc" / "untouched.py").write_text("import os\nos.system('ls')\n")
    ctx = fake_ctx(tmp_path, {"tester": {"applied": ["calc/answer.py"]}})
    with pytest.raises(DemoAgentError, match=r"calc/answer.py:5 eval \(high\)"):
        await security(ctx)
    lenient = (await security(fake_ctx(tmp_path, ctx.outputs, fail_on="critical"))).output
    assert [f["rule"] for f in lenient["findings"]] == ["eval"]
    assert lenient["scanned"] == ["calc/answer.py"]  # only the files this run changed


async def test_security_agent_passes_clean_changes(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("def f() -> int:\n    return 1\n")
    out = await security(fake_ctx(tmp_path, {"aggregator": {"paths": ["ok.py"]}}))
    assert out.output["findings"] == [] and out.output["scanned"] == ["ok.py"]
    assert out.nodes == ["release"]  # no approval asked for: straight to the release
    asked = await security(
        fake_ctx(tmp_path, {"aggregator": {"paths": ["ok.py"]}}, inputs={"approval": True})
    )
    assert asked.nodes == ["approval"] and asked.output == out.output
    with pytest.raises(DemoAgentError, match=r"^input approval must be true or false, not 'no'$"):
        await security(fake_ctx(tmp_path, {}, inputs={"approval": "no"}))


async def unsafe_fixer(ctx: NodeContext) -> dict[str, Any]:
    """The real Python fix plus a helper calling eval()."""
    out = await py_fixer(ctx)
    assert ctx.workspace is not None
    for path in out["files"]:
        old = ctx.workspace.read(path)
        new = apply_unified_patch({path: old}, out["patch"])[path] + UNSAFE
        out["patch"] = make_patch(path, old, new)
    return out


def test_unsafe_patch_fails_the_run(tmp_path: Path) -> None:
    agents = register_demo_agents(AgentRegistry())
    agents.register("demo.py_fixer", unsafe_fixer, replace=True)
    demo = run_quietly(tmp_path / "data", repo=SAMPLE_REPO, agents=agents)
    state = demo.result.state
    assert demo.result.exit_code == 1
    assert state.status == "failed"
    assert state.nodes["tester"].status == "succeeded"  # the tests still pass
    assert state.nodes["security"].status == "failed"
    assert "eval" in (state.nodes["security"].error or "")
    assert state.nodes["security"].attempts == 1  # the gate policy does not retry
    assert "release" not in {e.node for e in kinds(demo.events, "node_started")}
    assert "eval" in demo.printed
