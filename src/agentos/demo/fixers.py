"""The fixers: a Python fixer that derives a patch from the failure, a frontend fixer."""

from __future__ import annotations

from typing import Any

from agentos.actors.node_context import NodeContext
from agentos.demo._agent import ask_model, upstream_output, workspace
from agentos.demo._source import literal, replace_span, return_literals
from agentos.tools.patch import make_patch


def derive_fix(source: str, item: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """`source` with the function's returned `actual` literal replaced by `expected`."""
    ok_actual, actual = literal(item.get("actual"))
    ok_expected, _ = literal(item.get("expected"))
    function = item.get("function")
    if not (ok_actual and ok_expected and function):
        return None
    for span in return_literals(source, function):
        if span.value == actual and type(span.value) is type(actual):
            fixed = replace_span(source, span, item["expected"])
            change = {"line": span.line, "old": span.text, "new": item["expected"]}
            return fixed, change
    return None


async def py_fixer(ctx: NodeContext) -> dict[str, Any]:
    """Propose a unified diff fixing each planned failure; nothing is written."""
    ws = workspace(ctx)
    plan = upstream_output(ctx, "planner")
    texts: dict[str, str] = {}
    originals: dict[str, str] = {}
    fixes: list[dict[str, Any]] = []
    skipped: list[str] = []
    for item in plan.get("failing", []):
        path = item.get("source")
        if not path:
            skipped.append(f"{item.get('test')}: no source for {item.get('function')!r}")
            continue
        if path not in texts:
            originals[path] = texts[path] = ws.read(path)
        derived = derive_fix(texts[path], item)
        if derived is None:
            skipped.append(f"{item.get('test')}: no returned literal {item.get('actual')}")
            continue
        texts[path], change = derived
        fixes.append({"test": item["test"], "function": item["function"], "file": path, **change})
    patch = "".join(
        make_patch(path, originals[path], texts[path])
        for path in sorted(texts)
        if texts[path] != originals[path]
    )
    await ask_model(ctx, "Propose a patch for the failing Python tests.")
    what = "; ".join(
        f"{f['function']}() in {f['file']}:{f['line']} returns {f['new']} instead of {f['old']}"
        for f in fixes
    )
    return {
        "kind": "fix",
        "patch": patch,
        "files": sorted(p for p in texts if texts[p] != originals[p]),
        "fixes": fixes,
        "skipped": skipped,
        "description": what or "no Python fix found",
    }


async def fe_fixer(ctx: NodeContext) -> dict[str, Any]:
    """Look at the frontend files; propose a patch only for a failing frontend test."""
    ws = workspace(ctx)
    folder = str(ctx.params.get("folder", "frontend")).strip("/")
    files = ws.list(f"{folder}/**/*")
    failing = upstream_output(ctx, "planner").get("failing", [])
    frontend = [
        f
        for f in failing
        if str(f.get("file") or "").startswith(f"{folder}/")
        or str(f.get("source") or "").startswith(f"{folder}/")
    ]
    await ask_model(ctx, "Propose a patch for the frontend if it fails.")
    if frontend:
        reason = f"{len(frontend)} frontend failure(s), but no frontend test runner: no patch"
    elif failing:
        reason = f"no frontend failure: the {len(failing)} failing test(s) are Python tests"
    else:
        reason = "no frontend failure: all tests pass"
    return {"kind": "fix", "patch": "", "files": [], "files_seen": files, "reason": reason}
