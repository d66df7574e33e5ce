"""The end-of-run summary of a demo run, rendered with rich."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from agentos.state.run_state import RunState


def _output(state: RunState, node: str) -> dict[str, Any]:
    current = state.nodes.get(node)
    return current.output or {} if current is not None else {}


def _cut(manifest: dict[str, Any]) -> int:
    return sum(1 for i in manifest.get("items", []) if i.get("status") != "included")


def usage_table(state: RunState) -> Table:
    """Status, model, context, tokens, cost and duration of every node, with totals."""
    table = Table(
        title="tokens and cost per node",
        box=box.SIMPLE,
        show_footer=True,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("node", footer="total", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("model", no_wrap=True)
    table.add_column("ctx", justify="right")
    table.add_column("cut", justify="right")
    table.add_column("in", justify="right", footer=str(state.usage.tokens_in))
    table.add_column("out", justify="right", footer=str(state.usage.tokens_out))
    table.add_column("cost $", justify="right", footer=f"{state.usage.cost:.5f}")
    table.add_column("ms", justify="right")
    for name, node in state.nodes.items():
        model = node.model or {}
        manifest = node.manifest or {}
        colour = {"succeeded": "green", "failed": "red"}.get(node.status, "yellow")
        status = "ok" if node.status == "succeeded" else node.status
        tries = f" x{node.attempts}" if node.attempts > 1 else ""
        table.add_row(
            name,
            f"[{colour}]{status}[/]{tries}",
            f"{model.get('provider', '-')}/{model.get('model', '-')}",
            str(manifest.get("budget", {}).get("used", "-")),
            str(_cut(manifest)) if manifest else "-",
            str(node.usage.tokens_in),
            str(node.usage.tokens_out),
            f"{node.usage.cost:.5f}",
            f"{node.duration_ms:.0f}",
        )
    return table


def print_summary(state: RunState, events: int, log: Path, console: Console) -> None:
    """Print the run's outcome: diff, tests, security, usage per node and the log path."""
    colour = "green" if state.status == "succeeded" else "red"
    console.rule(f"run {state.run_id}")
    console.print(f"status: [{colour}]{state.status}[/]   events: {events}")
    if state.error:
        console.print(f"[red]error:[/] {state.error}", highlight=False)
    aggregate = _output(state, "aggregator")
    if aggregate.get("patch"):
        console.print(f"diff applied ({aggregate.get('reason', '')}):", highlight=False)
        console.print(Syntax(aggregate["patch"], "diff", theme="ansi_dark", word_wrap=True))
    tests = _output(state, "tester")
    if tests:
        console.print(
            f"tests: {tests.get('passed')} passed, {tests.get('failed')} failed of "
            f"{tests.get('total')} in {tests.get('duration')}s",
            highlight=False,
        )
    scan = _output(state, "security")
    if scan:
        findings = scan.get("findings", [])
        console.print(
            f"security: {len(findings)} finding(s) in {', '.join(scan.get('scanned', []))} "
            f"(fail on >= {scan.get('fail_on')})",
            highlight=False,
        )
        for f in findings:
            console.print(f"  {f['severity']} {f['path']}:{f['line']} {f['rule']}: {f['message']}")
    entry = _output(state, "release").get("entry")
    if entry:
        console.print(f"changelog: {entry}", highlight=False)
    console.print(usage_table(state))
    console.print(f"log: {log}", highlight=False)
