"""Live progress of a run: one line per node start and end, and the run's end."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape

from agentos.cli.timeline import event_type
from agentos.events import model as ev
from agentos.events.model import TERMINAL_TYPES

_MARKS = {
    "node_started": ("[cyan]>[/]", "started"),
    "node_succeeded": ("[green]ok[/]", "succeeded"),
    "node_failed": ("[red]x[/]", "failed"),
    "node_retrying": ("[yellow]~[/]", "retrying"),
    "node_skipped": ("[dim]-[/]", "skipped"),
    "node_cancelled": ("[yellow]-[/]", "cancelled"),
}


def _detail(event: ev.Envelope) -> str:
    if isinstance(event, ev.NodeSucceeded):
        return f" in {event.data.duration_ms:.0f} ms"
    if isinstance(event, ev.NodeFailed):
        return f": {escape(event.data.error[:160])}"
    if isinstance(event, ev.NodeRetrying):
        return f" in {event.data.delay:g}s: {escape(event.data.error[:160])}"
    if isinstance(event, ev.NodeStarted) and (event.attempt or 1) > 1:
        return f" (attempt {event.attempt})"
    if isinstance(event, ev.NodeSkipped | ev.NodeCancelled) and event.data.reason:
        return f": {escape(event.data.reason)}"
    return ""


class Progress:
    """Prints progress lines for the events of one run as they arrive."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.start: datetime | None = None
        self.events = 0

    def show(self, event: ev.Envelope) -> None:
        """Print the event's line, if it is a node start or end or the run's end."""
        self.events += 1
        self.start = self.start or event.ts
        kind = event_type(event)
        elapsed = f"[dim]{(event.ts - self.start).total_seconds():8.3f}s[/]"
        if kind in _MARKS and event.node is not None:
            mark, verb = _MARKS[kind]
            line = f"{elapsed} {mark:<2} [bold]{escape(event.node):<14}[/] {verb}{_detail(event)}"
            self.console.print(line)
        elif kind in TERMINAL_TYPES:
            style = "green" if kind == "run_succeeded" else "red"
            self.console.print(f"{elapsed} [{style}]{kind.replace('_', ' ')}[/]")
