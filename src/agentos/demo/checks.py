"""The tester and the security gate: apply the patch, run the tests, scan the changes."""

from __future__ import annotations

from typing import Any

from agentos.actors.node_context import NodeContext
from agentos.demo._agent import DemoAgentError, ask_model, upstream_output, workspace
from agentos.tools.security import blocking, scan
from agentos.tools.testrunner import run_pytest


async def tester(ctx: NodeContext) -> dict[str, Any]:
    """Apply the aggregator's patches (recorded as file writes), then run the tests."""
    ws = workspace(ctx)
    applied: list[str] = []
    for proposal in upstream_output(ctx, "aggregator").get("patches", []):
        if proposal.get("patch"):
            applied += [w.path for w in ws.apply_patch(proposal["patch"])]
    report = await run_pytest(ws.root, timeout=float(ctx.params.get("pytest_timeout", 60)))
    await ask_model(ctx, "Report on the test run.")
    if report.timed_out:
        raise DemoAgentError(f"the tests timed out after {report.duration}s")
    if report.failed or report.errors or report.exit_code != 0:
        failures = "; ".join(
            f"{f.test}: expected {f.expected}, got {f.actual}"
            if f.expected
            else f"{f.test}: {f.message}"
            for f in report.failures
        )
        raise DemoAgentError(
            f"{report.failed} failed, {report.errors} errors of {report.total} "
            f"(exit code {report.exit_code}): {failures or report.output_tail[-500:]}"
        )
    return {
        "applied": sorted(set(applied)),
        "passed": report.passed,
        "failed": report.failed,
        "errors": report.errors,
        "skipped": report.skipped,
        "total": report.total,
        "duration": report.duration,
    }


def changed_paths(ctx: NodeContext) -> list[str]:
    """The paths this run patched, as reported by the tester and the aggregator."""
    paths = set(upstream_output(ctx, "tester").get("applied", []))
    paths |= set(upstream_output(ctx, "aggregator").get("paths", []))
    return sorted(paths)


async def security(ctx: NodeContext) -> dict[str, Any]:
    """Scan the changed files; fail on findings at or above `fail_on` (default high)."""
    ws = workspace(ctx)
    fail_on = str(ctx.params.get("fail_on", "high"))
    paths = [p for p in changed_paths(ctx) if ws.exists(p)]
    findings = scan({p: ws.read(p) for p in paths})
    blockers = blocking(findings, fail_on)
    await ask_model(ctx, "Review the security findings.")
    if blockers:
        listed = "; ".join(
            f"{f.path}:{f.line} {f.rule} ({f.severity}): {f.snippet}" for f in blockers
        )
        raise DemoAgentError(f"{len(blockers)} finding(s) at or above {fail_on}: {listed}")
    return {
        "scanned": paths,
        "fail_on": fail_on,
        "findings": [f.model_dump() for f in findings],
    }
