"""Live progress of a run: one line per node start and end, and the run's end.

Printed by the CLI's run commands and by the demo runner alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from rich.console import Console
from rich.markup import escape

from agentos.events import model as ev
from agentos.events.model import TERMINAL_TYPES

_MARKS = {
    "node_started": ("[cyan]>[/]", "started"),
    "node_succeeded": ("[green]ok[/]", "succeeded"),
    "node_failed": ("[red]x[/]", "failed"),
    "node_retrying": ("[yellow]~[/]", "retrying"),
    "node_skipped": ("[dim]-[/]", "skipped"),
    "node_cancelled": ("[yellow]-[/]", "cancelled"),
    "node_waiting": ("[magenta]?[/]", "waiting"),
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
    if isinstance(event, ev.NodeWaiting):
        return f" for signal {escape(event.data.signal)}"
    if isinstance(event, ev.NodeSkipped | ev.NodeCancelled) and event.data.reason:
        return f": {escape(event.data.reason)}"
    return ""


def step_name(event: ev.Envelope) -> str:
    """The node of `event` as a step: `writer`, or `writer#2` in a loop's second pass."""
    name = event.node or ""
    return f"{name}#{event.iteration}" if (event.iteration or 1) > 1 else name


class Progress:
    """Prints a line per node start and end, with how many nodes run, and the run's end."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.start: datetime | None = None
        self.events = 0
        self.running: set[str] = set()

    def show(self, event: ev.Envelope) -> None:
        """Print the event's line, if it is a node start or end or the run's end."""
        self.events += 1
        self.start = self.start or event.ts
        kind: str = getattr(event, "type", "?")
        elapsed = f"[dim]{(event.ts - self.start).total_seconds():8.3f}s[/]"
        if kind in _MARKS and event.node is not None:
            name = step_name(event)
            if kind == "node_started":
                self.running.add(name)
            else:
                self.running.discard(name)
            mark, verb = _MARKS[kind]
            line = f"{elapsed} {mark:<2} [bold]{escape(name):<14}[/] {verb}{_detail(event)}"
            self.console.print(f"{line} [dim]({len(self.running)} running)[/]", highlight=False)
        elif isinstance(event, ev.LoopIterated):
            line = f"{elapsed} [cyan]<-[/] [bold]{escape(event.data.to):<14}[/] pass"
            self.console.print(f"{line} {event.data.iteration} of {event.data.max_iterations}")
        elif isinstance(event, ev.LoopExhausted):
            self.console.print(f"{elapsed} [yellow]![/]  {escape(event.data.reason)}")
        elif kind in TERMINAL_TYPES:
            style = "green" if kind == "run_succeeded" else "red"
            self.console.print(f"{elapsed} [{style}]{kind.replace('_', ' ')}[/]")

    async def follow(self, events: AsyncIterator[ev.Envelope]) -> int:
        """Show events as they arrive until the run ends; returns how many there were."""
        async for event in events:
            self.show(event)
        return self.events
