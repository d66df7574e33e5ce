"""The planner: run the tests, find what fails and why, and where the code lives."""

from __future__ import annotations

import ast
from typing import Any

from agentos.actors.node_context import NodeContext
from agentos.demo._agent import ask_model, workspace
from agentos.demo._source import find_function, python_sources
from agentos.tools.testrunner import TestFailure, run_pytest
from agentos.tools.workspace import Workspace


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
    ws = workspace(ctx)
    exclude = list(ctx.params.get("exclude_dirs", ["tests"]))
    report = await run_pytest(ws.root, timeout=float(ctx.params.get("pytest_timeout", 60)))
    if report.timed_out:
        raise TimeoutError(f"the test suite did not finish in {ctx.params.get('pytest_timeout')}s")
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
