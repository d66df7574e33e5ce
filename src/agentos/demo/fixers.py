"""The fixers: a Python fixer that derives a patch from the failure, a frontend fixer."""

from __future__ import annotations

from typing import Any

from agentos.actors.node_context import NodeContext
from agentos.demo._agent import ask_model, flag, upstream_output, workspace
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


def off_by_one(item: dict[str, Any]) -> dict[str, Any]:
    """`item` expecting one more than it does (an integer): a deliberately wrong fix."""
    ok, expected = literal(item.get("expected"))
    if not ok or isinstance(expected, bool) or not isinstance(expected, int):
        return item
    return {**item, "expected": repr(expected + 1)}


def fix_items(ctx: NodeContext) -> tuple[list[dict[str, Any]], str | None]:
    """What to fix and the feedback it comes from: the plan's failures on the first
    round, the tester's failures (on the files as they are now) after a failed round."""
    failing: list[dict[str, Any]] = upstream_output(ctx, "planner").get("failing", [])
    feedback = upstream_output(ctx, "tester")
    if "failures" not in feedback:
        if flag(ctx, "wrong_first_fix"):
            return [off_by_one(item) for item in failing], None
        return failing, None
    by_test = {item.get("test"): item for item in failing}
    by_function = {item.get("function"): item for item in failing}
    items = []
    for failure in feedback["failures"]:
        plan = by_test.get(failure.get("test")) or by_function.get(failure.get("function"), {})
        reported = {k: v for k, v in failure.items() if v is not None}
        items.append({**plan, **reported, "source": plan.get("source"), "was": plan.get("actual")})
    return items, str(feedback.get("error", ""))


async def py_fixer(ctx: NodeContext) -> dict[str, Any]:
    """Propose a unified diff fixing each planned failure; nothing is written.

    After a failed round of the tester (the `fix_loop` input), it fixes the failures the
    tester reports instead, in the files as the last round left them."""
    ws = workspace(ctx)
    items, feedback = fix_items(ctx)
    texts: dict[str, str] = {}
    originals: dict[str, str] = {}
    fixes: list[dict[str, Any]] = []
    skipped: list[str] = []
    for item in items:
        path = item.get("source")
        if not path:
            skipped.append(f"{item.get('test')}: no source for {item.get('function')!r}")
            continue
        if path not in texts:
            originals[path] = texts[path] = ws.read(path)
        derived = derive_fix(texts[path], item)
        if derived is None and any(
            f["file"] == path and f["function"] == item.get("function") for f in fixes
        ):
            continue  # another failing test of a function fixed already
        if derived is None:
            skipped.append(f"{item.get('test')}: no returned literal {item.get('actual')}")
            continue
        texts[path], change = derived
        if item.get("was") is not None:
            change["old"] = item["was"]  # what the pull request changes, over all rounds
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
    result = {
        "kind": "fix",
        "patch": patch,
        "files": sorted(p for p in texts if texts[p] != originals[p]),
        "fixes": fixes,
        "skipped": skipped,
        "description": what or "no Python fix found",
    }
    return result if feedback is None else {**result, "feedback": feedback}


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
