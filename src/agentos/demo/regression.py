"""The test writer: propose a regression test for the behaviour being fixed."""

from __future__ import annotations

import ast
from pathlib import PurePosixPath
from typing import Any

from agentos.actors.node_context import NodeContext
from agentos.demo._agent import ask_model, upstream_output, workspace
from agentos.tools.patch import DEV_NULL, make_patch
from agentos.tools.workspace import Workspace


def _module(path: str) -> str:
    return ".".join(PurePosixPath(path).with_suffix("").parts)


def _from_test(ws: Workspace, item: dict[str, Any]) -> tuple[list[str], str] | None:
    """The failing test's imports and the assertion statement at its failing line."""
    file, line = item.get("file"), item.get("line")
    if not file or not line or not ws.exists(file):
        return None
    source = ws.read(file)
    tree = ast.parse(source)
    imports = [
        ast.get_source_segment(source, n) or ""
        for n in tree.body
        if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    for node in ast.walk(tree):
        end = getattr(node, "end_lineno", None) or 0
        if isinstance(node, ast.Assert) and node.lineno <= line <= end:
            return imports, ast.get_source_segment(source, node) or ""
    return None


def regression_test(ws: Workspace, item: dict[str, Any]) -> str | None:
    """The text of a test module asserting the fixed behaviour of `item`."""
    function, source = item.get("function"), item.get("source")
    if not function or not source:
        return None
    found = _from_test(ws, item)
    if found is not None:
        imports, assertion = found
    else:
        imports = [f"from {_module(source)} import {function}"]
        assertion = f"assert {function}() == {item['expected']}"
    body = "\n".join(dict.fromkeys(i for i in imports if i))
    return (
        f'"""Regression test for {item["test"]}."""\n\n{body}\n\n\n'
        f"def test_{function}_regression() -> None:\n    {assertion}\n"
    )


def creation_patch(path: str, text: str) -> str:
    """A unified diff creating the file `path` holding `text`."""
    patch = make_patch(path, "", text)
    return patch.replace(f"--- a/{path}\n", f"--- {DEV_NULL}\n", 1)


async def write_tests(ctx: NodeContext) -> dict[str, Any]:
    """Propose one new test file per fixed function, as a diff creating it."""
    ws = workspace(ctx)
    folder = str(ctx.params.get("test_dir", "tests")).strip("/")
    patches: list[str] = []
    files: list[str] = []
    for item in upstream_output(ctx, "planner").get("failing", []):
        path = f"{folder}/test_{item.get('function')}_regression.py"
        text = regression_test(ws, item)
        if text is None or ws.exists(path) or path in files:
            continue
        patches.append(creation_patch(path, text))
        files.append(path)
    await ask_model(ctx, "Write a regression test for the fix.")
    return {
        "kind": "test",
        "patch": "".join(patches),
        "files": files,
        "description": f"regression test(s) {', '.join(files)}" if files else "no new test",
    }
