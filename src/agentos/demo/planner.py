"""The planner: run the tests, find what fails and why, and where the code lives."""

from __future__ import annotations

import ast
from typing import Any

from agentos.actors.node_context import NodeContext
from agentos.demo._agent import DemoAgentError, ask_model, workspace
from agentos.demo._source import find_function, python_sources
from agentos.tools.testrunner import TestFailure, run_pytest
from agentos.tools.workspace import Workspace

MAX_TIMEOUT = 600.0
"""The longest `pytest_timeout` param, in seconds."""


def checked_params(params: dict[str, Any]) -> tuple[float, list[str]]:
    """(pytest_timeout, exclude_dirs) of the node's params; DemoAgentError when the
    timeout is not a number of seconds in (0, MAX_TIMEOUT] or a folder is not a plain
    relative name."""
    timeout = params.get("pytest_timeout", 60)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise DemoAgentError(f"param pytest_timeout must be seconds in (0, {MAX_TIMEOUT:g}]")
    exclude = params.get("exclude_dirs", ["tests"])
    if not isinstance(exclude, list) or not all(_plain_folder(d) for d in exclude):
        raise DemoAgentError("param exclude_dirs must be a list of relative folder names")
    return float(timeout), list(exclude)


def _plain_folder(name: object) -> bool:
    parts = name.strip("/").split("/") if isinstance(name, str) else [""]
    return len(str(name)) <= 200 and all(p and p not in (".", "..") for p in parts)


def locate(ws: Workspace, function: str, exclude_dirs: list[str]) -> tuple[str, int] | None:
    """(path, line) of the first `def function` in the workspace's sources."""
    for path in python_sources(ws, exclude_dirs):
        try:
            tree = ast.parse(ws.read(path))
        except (SyntaxError, ValueError, UnicodeDecodeError):
            continue
        func = find_function(tree, function)
        if func is not None:
            return path, func.lineno
    return None


def plan_item(ws: Workspace, failure: TestFailure, exclude_dirs: list[str]) -> dict[str, Any]:
    """One failing test, what it got and expected, and the source of the function."""
    found = locate(ws, failure.function, exclude_dirs) if failure.function else None
    return {
        "test": failure.test,
        "file": failure.file,
        "line": failure.line,
        "function": failure.function,
        "actual": failure.actual,
        "expected": failure.expected,
        "message": failure.message,
        "source": found[0] if found else None,
        "source_line": found[1] if found else None,
    }


async def planner(ctx: NodeContext) -> dict[str, Any]:
    """Run pytest in the workspace and turn its failures into a plan for the fixers."""
    timeout, exclude = checked_params(ctx.params)
    ws = workspace(ctx)
    report = await run_pytest(ws.root, timeout=timeout)
    if report.timed_out:
        raise TimeoutError(f"the test suite did not finish in {timeout:g}s")
    failing = [plan_item(ws, f, exclude) for f in report.failures]
    steps = [
        f"make {f['function']}() in {f['source']} return {f['expected']} "
        f"instead of {f['actual']} ({f['test']})"
        for f in failing
        if f["source"]
    ]
    await ask_model(ctx, "Plan the fix of the failing tests.")
    return {
        "tests": {"passed": report.passed, "failed": report.failed, "total": report.total},
        "failing": failing,
        "steps": steps,
        "summary": (
            f"{len(failing)} failing test(s): " + "; ".join(steps)
            if failing
            else "all tests pass: nothing to fix"
        ),
    }
