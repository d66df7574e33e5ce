"""The tester and the security gate: apply the patch, run the tests, scan the changes."""

from __future__ import annotations

from typing import Any

from agentos.actors.node_context import Next, NodeContext
from agentos.demo._agent import DemoAgentError, ask_model, flag, upstream_output, workspace
from agentos.tools.security import blocking, scan
from agentos.tools.testrunner import run_pytest


def rounds(ctx: NodeContext) -> tuple[int, int]:
    """(this round, the last round) of the tester: its round in the output of the round
    before plus one, and its `max_rounds` param (the loop's max_iterations)."""
    before = upstream_output(ctx, "tester").get("round", 0)
    last = ctx.params.get("max_rounds", 1)
    if isinstance(last, bool) or not isinstance(last, int) or last < 1:
        raise DemoAgentError(f"param max_rounds must be an integer >= 1: {last!r}")
    return (before if isinstance(before, int) else 0) + 1, last


async def tester(ctx: NodeContext) -> dict[str, Any] | Next:
    """Apply the aggregator's patches (recorded as file writes), then run the tests.

    A failure fails the node; with the input `fix_loop`, a failure before the last round
    sends the run back to py_fixer (`Next(["py_fixer"])`) with the failures as output.
    """
    ws = workspace(ctx)
    looping = flag(ctx, "fix_loop")
    this_round, last_round = rounds(ctx) if looping else (1, 1)
    applied: list[str] = list(upstream_output(ctx, "tester").get("applied", []))
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
        error = (
            f"{report.failed} failed, {report.errors} errors of {report.total} "
            f"(exit code {report.exit_code}): {failures or report.output_tail[-500:]}"
        )
        if this_round >= last_round:
            raise DemoAgentError(error if not looping else f"round {this_round}: {error}")
        feedback = {
            "round": this_round,
            "passed": report.passed,
            "failed": report.failed,
            "applied": sorted(set(applied)),
            "error": error,
            "failures": [f.model_dump() for f in report.failures],
        }
        return Next(["py_fixer"], feedback)
    result: dict[str, Any] = {
        "applied": sorted(set(applied)),
        "passed": report.passed,
        "failed": report.failed,
        "errors": report.errors,
        "skipped": report.skipped,
        "total": report.total,
        "duration": report.duration,
    }
    return {**result, "round": this_round} if looping else result


def changed_paths(ctx: NodeContext) -> list[str]:
    """The paths this run patched, as reported by the tester and the aggregator."""
    paths = set(upstream_output(ctx, "tester").get("applied", []))
    paths |= set(upstream_output(ctx, "aggregator").get("paths", []))
    return sorted(paths)


async def security(ctx: NodeContext) -> Next:
    """Scan the changed files; fail on findings at or above `fail_on` (default high).

    Passing, it hands over to `release`, or to the `approval` wait node when the run's
    input `approval` is set."""
    then = "approval" if flag(ctx, "approval") else "release"
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
    return Next(
        [then],
        {"scanned": paths, "fail_on": fail_on, "findings": [f.model_dump() for f in findings]},
    )
