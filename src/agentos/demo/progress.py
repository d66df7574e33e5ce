"""Live progress of a demo run: one line per node start and end, from the run's events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from rich.console import Console

from agentos.events import model as ev

_MARKS = {
    "node_started": ("[cyan]>[/]", "started"),
    "node_succeeded": ("[green]ok[/]", "succeeded"),
    "node_failed": ("[red]x[/]", "failed"),
    "node_retrying": ("[yellow]~[/]", "retrying"),
    "node_skipped": ("[dim]-[/]", "skipped"),
    "node_cancelled": ("[dim]-[/]", "cancelled"),
}


def node_line(event: ev.Envelope, start: datetime, running: int) -> str | None:
    """The progress line of a node event, or None for other events."""
    kind = getattr(event, "type", "")
    if kind not in _MARKS or event.node is None:
        return None
    mark, verb = _MARKS[kind]
    elapsed = (event.ts - start).total_seconds()
    detail = ""
    if isinstance(event, ev.NodeSucceeded):
        detail = f" in {event.data.duration_ms:.0f} ms"
    elif isinstance(event, ev.NodeFailed | ev.NodeRetrying):
        detail = f": {event.data.error[:160]}"
    elif isinstance(event, ev.NodeStarted) and (event.attempt or 1) > 1:
        detail = f" (attempt {event.attempt})"
    return (
        f"[dim]{elapsed:7.3f}s[/] {mark} [bold]{event.node:<12}[/] {verb}{detail}"
        f" [dim]({running} running)[/]"
    )


async def show_progress(events: AsyncIterator[ev.Envelope], console: Console) -> int:
    """Print node lines as the events arrive until the run ends; returns the event count."""
    start: datetime | None = None
    running: set[str] = set()
    count = 0
    async for event in events:
        count += 1
        start = start or event.ts
        kind = getattr(event, "type", "")
        if kind == "node_started" and event.node:
            running.add(event.node)
        elif kind in _MARKS and event.node:
            running.discard(event.node)
        line = node_line(event, start, len(running))
        if line is not None:
            console.print(line, highlight=False)
        elif kind in ("run_succeeded", "run_failed", "run_cancelled"):
            elapsed = (event.ts - start).total_seconds()
            style = "green" if kind == "run_succeeded" else "red"
            console.print(f"[dim]{elapsed:7.3f}s[/] [{style}]{kind.replace('_', ' ')}[/]")
    return count
