"""Rendering run states: the per-node summary, the totals and the state at a step."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentos.cli.timeline import money
from agentos.state.run_state import NodeState, RunState

STATUS_STYLES = {
    "succeeded": "green",
    "failed": "red",
    "corrupt": "bold red",
    "cancelled": "yellow",
    "retrying": "yellow",
    "running": "cyan",
    "waiting": "magenta",
    "scheduled": "cyan",
    "skipped": "dim",
    "pending": "dim",
}


def status_text(status: str) -> str:
    """A status in its colour."""
    style = STATUS_STYLES.get(status)
    return f"[{style}]{status}[/]" if style else status


def seconds(value: float | None) -> str:
    """A duration in seconds, or '-'."""
    return "-" if value is None else f"{value:.2f}s"


def _model(node: NodeState) -> str:
    if not node.model:
        return "-"
    return f"{node.model.get('provider', '?')}/{node.model.get('model', '?')}"


def _tokens(node: NodeState) -> str:
    usage = node.usage
    return f"{usage.tokens_in}+{usage.tokens_out}" if usage.calls else "-"


def node_table(state: RunState) -> Table:
    """One row per node: status, attempts, duration, model, tokens, cost."""
    table = Table(title=f"run {state.run_id} ({state.graph})", title_justify="left")
    for name in ("node", "status", "attempts", "duration", "model", "tokens", "cost"):
        table.add_column(name, justify="right" if name in ("attempts", "cost") else "left")
    for name, node in state.ordered_nodes():
        duration = seconds(node.duration_ms / 1000) if node.duration_ms else "-"
        table.add_row(
            escape(name),
            status_text(node.status),
            str(node.attempts),
            duration,
            escape(_model(node)),
            _tokens(node),
            money(node.usage.cost) if node.usage.calls else "-",
        )
    return table


def totals_line(state: RunState) -> str:
    """The run's totals on one line."""
    usage = state.usage
    changed = len(state.workspace)
    return (
        f"status {status_text(state.status)}  events {state.last_seq}  "
        f"duration {seconds(state.duration_s())}  model calls {usage.calls}  "
        f"tokens {usage.tokens_in}+{usage.tokens_out}  cost {money(usage.cost)}  "
        f"files changed {changed}"
    )


def print_summary(console: Console, state: RunState, log_path: Path | str | None = None) -> None:
    """The per-node table, the totals, the error and the log path of a run."""
    console.print(node_table(state))
    console.print(totals_line(state))
    if state.error:
        console.print(f"[red]error:[/] {escape(state.error)}")
    if state.replayed_from is not None:
        origin = state.replayed_from
        console.print(
            f"replayed from {origin.source_run} at step {escape(origin.from_step)} "
            f"(seq {origin.from_seq})"
        )
    if log_path is not None:
        console.print(f"log: {escape(str(log_path))}")


def _node_detail(node: NodeState) -> str:
    if node.error:
        return f"error: {node.error}"
    if node.skip_reason:
        return f"skipped: {node.skip_reason}"
    if node.output is not None:
        return "output: " + (", ".join(node.output) or "none")
    return ""


def print_state(console: Console, state: RunState, step: str) -> None:
    """The folded state at a step: every node, the changed workspace files, the totals."""
    console.print(
        f"run [bold]{state.run_id}[/] ({escape(state.graph)}) at step {escape(step)}: "
        f"seq {state.last_seq}, status {status_text(state.status)}"
    )
    nodes = Table(title="nodes", title_justify="left")
    for name in ("node", "status", "attempts", "detail"):
        nodes.add_column(name)
    for name, node in state.ordered_nodes():
        detail = escape(_node_detail(node))
        nodes.add_row(escape(name), status_text(node.status), str(node.attempts), detail)
    console.print(nodes)
    if state.workspace:
        files = Table(title="workspace files changed", title_justify="left")
        for name in ("path", "op", "size", "seq"):
            files.add_column(name)
        for path, f in sorted(state.workspace.items()):
            op = "delete" if f.deleted else "write"
            files.add_row(escape(path), op, str(f.size), str(f.seq))
        console.print(files)
    else:
        console.print("workspace files changed: none")
    console.print(totals_line(state))
