"""The aggregator: a join that scores the proposals and picks the patch to ship."""

from __future__ import annotations

import ast
from typing import Any

from agentos.actors.node_context import NodeContext
from agentos.demo._agent import DemoAgentError, ask_model, flag, upstream_output, workspace
from agentos.demo._source import literal, return_literals
from agentos.tools.patch import PatchError, apply_unified_patch, patch_paths
from agentos.tools.workspace import Workspace

APPLIES = 0.2  # applies cleanly and still parses
TOUCHES = 0.3  # touches the file defining a failing function
FIXES = 0.5  # times the share of failures whose function now returns the expected value
TEST_SCORE = 0.5  # a valid new test


def _fixed(texts: dict[str, str], item: dict[str, Any]) -> bool:
    ok, expected = literal(item.get("expected"))
    text = texts.get(str(item.get("source")))
    if not ok or text is None or not item.get("function"):
        return False
    try:
        values = [r.value for r in return_literals(text, item["function"])]
    except SyntaxError:
        return False
    return bool(values) and all(v == expected and type(v) is type(expected) for v in values)


def _apply(ws: Workspace, patch: str) -> dict[str, str]:
    """The texts of the files `patch` writes, once applied to the workspace (in memory)."""
    current = {p: ws.read(p) for p in patch_paths(patch) if ws.exists(p)}
    updated = apply_unified_patch(current, patch)
    for path, text in updated.items():
        if path.endswith(".py"):
            try:
                ast.parse(text)
            except SyntaxError as exc:
                raise PatchError(f"{path} no longer parses: {exc.msg} (line {exc.lineno})") from exc
    return updated


def score(
    ws: Workspace, node: str, info: dict[str, Any], failing: list[dict[str, Any]]
) -> dict[str, Any]:
    """The score of one upstream proposal, with the reasons for it."""
    output = info.get("output") or {}
    kind = output.get("kind", "fix")
    result: dict[str, Any] = {"kind": kind, "score": 0.0, "reasons": [], "paths": []}
    if info.get("status") != "succeeded":
        result["reasons"].append(f"node {info.get('status')}: {info.get('error')}")
        return result
    patch = output.get("patch") or ""
    if not patch.strip():
        result["reasons"].append(f"empty proposal: {output.get('reason', 'no patch')}")
        return result
    try:
        texts = _apply(ws, patch)
    except PatchError as exc:
        result["reasons"].append(f"invalid patch: {exc}")
        return result
    result["paths"] = sorted(texts)
    points = APPLIES
    result["reasons"].append("applies cleanly")
    if kind == "test":
        created = all(not ws.exists(p) for p in texts)
        if created:
            points = TEST_SCORE
            result["reasons"].append("adds new test file(s) only")
        else:
            result["reasons"].append("changes existing files")
        result["score"] = points
        return result
    sources = {str(f.get("source")) for f in failing if f.get("source")}
    if sources & set(texts):
        points += TOUCHES
        result["reasons"].append("touches the failing function's file")
    fixed = [f["test"] for f in failing if _fixed(texts, f)]
    if failing:
        points += FIXES * len(fixed) / len(failing)
        result["reasons"].append(f"fixes {len(fixed)}/{len(failing)} failure(s)")
    result["score"] = round(points, 3)
    result["fixed"] = fixed
    return result


async def aggregator(ctx: NodeContext) -> dict[str, Any]:
    """Score each upstream proposal, pick the best fix and add the valid test proposals."""
    ws = workspace(ctx)
    failing = upstream_output(ctx, "planner").get("failing", [])
    scores = {
        node: score(ws, node, info, failing)
        for node, info in sorted(ctx.upstream.items())
        if node != "planner"
    }
    fixes = [n for n, s in scores.items() if s["kind"] == "fix" and s["score"] > 0]
    best = max(fixes, key=lambda n: scores[n]["score"], default=None)
    verified = best is not None and bool(scores[best].get("fixed"))
    # in a fix loop the tester judges: an applicable fix it cannot verify still ships
    if failing and not verified and not (best is not None and flag(ctx, "fix_loop")):
        summary = "; ".join(f"{n}: {', '.join(s['reasons'])}" for n, s in scores.items())
        raise DemoAgentError(f"no proposal fixes the failing tests ({summary})")
    extras: list[str] = []
    if ctx.params.get("include_tests", True):
        extras = [n for n, s in scores.items() if s["kind"] == "test" and s["score"] > 0]
    chosen = [n for n in [best, *extras] if n is not None]
    patches = [
        {"node": n, "patch": upstream_output(ctx, n).get("patch", ""), "paths": scores[n]["paths"]}
        for n in chosen
    ]
    await ask_model(ctx, "Score the proposals and choose the patch.")
    if best is None:
        reason = "nothing to fix: no failing test and no proposal"
    else:
        reason = f"{best} scores highest ({scores[best]['score']})" + (
            f"; {', '.join(extras)} added as extra" if extras else ""
        )
        if failing and not verified:
            reason += "; it does not return the expected values: the tester decides"
    return {
        "scores": scores,
        "chosen": best,
        "extras": extras,
        "patches": patches,
        "patch": "".join(p["patch"] for p in patches),
        "paths": sorted({path for p in patches for path in p["paths"]}),
        "description": upstream_output(ctx, best).get("description", "") if best else "",
        "reason": reason,
    }
