"""The event timeline: one readable line per event, with the key facts of each type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.markup import escape

from agentos.events import model as ev

_STYLES = {
    "run_succeeded": "bold green",
    "node_succeeded": "green",
    "run_failed": "bold red",
    "node_failed": "red",
    "budget_exceeded": "red",
    "node_retrying": "yellow",
    "run_cancelled": "yellow",
    "node_cancelled": "yellow",
    "node_skipped": "dim",
    "node_started": "cyan",
    "run_started": "cyan",
    "model_selected": "magenta",
    "model_called": "magenta",
    "context_compiled": "blue",
}


def money(cost: float) -> str:
    """A cost in dollars, precise enough for tiny model calls."""
    return f"${cost:.6f}" if cost < 0.01 else f"${cost:.4f}"


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _created(e: ev.RunCreated) -> str:
    inputs = ", ".join(f"{k}={_short(v, 40)}" for k, v in e.data.inputs.items())
    nodes = len(e.data.spec.get("nodes", []))
    return f"graph {e.data.graph} ({nodes} nodes); inputs: {inputs or 'none'}"


def _succeeded(e: ev.NodeSucceeded) -> str:
    keys = ", ".join(e.data.output) or "none"
    text = f"output: {keys}; {e.data.duration_ms:.0f} ms"
    if e.data.next is not None:
        text += f"; next: {', '.join(e.data.next) or 'none'}"
    return text


def _failed(e: ev.NodeFailed) -> str:
    final = "final" if e.data.final else "will retry"
    error = e.data.error  # an agent's error names its type already (`KeyError: 'x'`)
    if not error.startswith(f"{e.data.error_type}:") and error != e.data.error_type:
        error = f"{e.data.error_type}: {error}"
    return f"{_short(error, 200)} ({final}; {e.data.duration_ms:.0f} ms)"


def _context(e: ev.ContextCompiled) -> str:
    manifest = e.data.manifest
    budget = manifest.get("budget", {})
    items = manifest.get("items", [])
    cut = [
        f"{i.get('name')} {i.get('status')}"
        + (f" -{i.get('cut')}" if i.get("status") == "truncated" else "")
        for i in items
        if i.get("status") != "included"
    ]
    text = (
        f"profile {e.data.profile}: {len(items) - len(cut)}/{len(items)} items, "
        f"used {budget.get('used', '?')}/{budget.get('limit', '?')} tokens, "
        f"{budget.get('left', '?')} left"
    )
    return text + (f"; cut: {', '.join(cut)}" if cut else "")


def _called(e: ev.ModelCalled) -> str:
    d = e.data
    text = (
        f"{d.provider}/{d.model} {d.tokens_in}+{d.tokens_out} tokens, {money(d.cost)}, "
        f"{d.latency_ms:.0f} ms"
    )
    if d.fallbacks:
        text += f", {len(d.fallbacks)} fallback(s)"
    return text if d.ok else f"{text}; failed: {_short(d.error, 120)}"


def _file(e: ev.FileWritten) -> str:
    if e.data.op == "delete":
        return f"delete {e.data.path}"
    return f"write {e.data.path} ({e.data.size} bytes)"


def _failed_run(e: ev.RunFailed) -> str:
    where = f" at {e.data.node}" if e.data.node else ""
    return f"{_short(e.data.error, 200)}{where}"


_FACTS: dict[type[ev.Envelope], Callable[[Any], str]] = {
    ev.RunCreated: _created,
    ev.NodeSucceeded: _succeeded,
    ev.NodeFailed: _failed,
    ev.NodeRetrying: lambda e: f"retry in {e.data.delay:g}s after: {_short(e.data.error, 160)}",
    ev.NodeSkipped: lambda e: e.data.reason,
    ev.NodeCancelled: lambda e: e.data.reason,
    ev.ContextCompiled: _context,
    ev.ModelSelected: lambda e: f"{e.data.provider}/{e.data.model}: {e.data.reason}",
    ev.ModelCalled: _called,
    ev.BudgetExceeded: lambda e: (
        f"{e.data.action}: {e.data.reason} ({e.data.tokens} tokens, {money(e.data.cost)})"
    ),
    ev.ArtifactWritten: lambda e: f"{e.data.name} ({e.data.size} bytes)",
    ev.FileWritten: _file,
    ev.WorkspaceCreated: lambda e: f"from {e.data.source} ({len(e.data.files)} files)",
    ev.RunFailed: _failed_run,
    ev.RunCancelled: lambda e: e.data.reason,
    ev.ReplayedFrom: lambda e: (
        f"forked from {e.data.source_run} at step {e.data.from_step} (seq {e.data.from_seq})"
    ),
}


def event_type(event: ev.Envelope) -> str:
    """The event's type name."""
    kind: str = getattr(event, "type", "?")
    return kind


def facts(event: ev.Envelope) -> str:
    """The key facts of an event, as plain text."""
    describe = _FACTS.get(type(event))
    return describe(event) if describe is not None else ""


def timeline_line(event: ev.Envelope) -> str:
    """The timeline line of an event, as rich markup."""
    kind = event_type(event)
    style = _STYLES.get(kind, "")
    clock = event.ts.strftime("%H:%M:%S.%f")[:-3]
    node = escape(event.node or "-")
    attempt = f"#{event.attempt}" if event.attempt else ""
    detail = facts(event)
    text = f"{kind:<17} {escape(detail)}" if detail else kind
    if style:
        text = f"[{style}]{kind}[/]{text[len(kind) :]}"
    return f"{event.seq:>5}  [dim]{clock}[/]  {node:<12} {attempt:<3} {text}"
