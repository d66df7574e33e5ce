"""`agentos events`: the event-log inspection tool (timeline, JSON lines, follow, summary)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import click
from rich.console import Console

from agentos.cli.console import out_console
from agentos.cli.render import print_summary
from agentos.cli.runlog import check_node, load_run, reading, where
from agentos.cli.settings import Settings, current
from agentos.cli.timeline import event_type, timeline_line
from agentos.events.codec import encode
from agentos.events.model import EVENT_TYPES, Envelope
from agentos.state.fold import fold

HEADER = f"{'seq':>5}  {'time (UTC)':<12}  {'node':<12} {'try':<3} {'type':<17} facts"


@dataclass(frozen=True)
class Query:
    """Which events to show, and how."""

    run_id: str
    types: frozenset[str]
    nodes: frozenset[str]
    since: int
    as_json: bool
    follow: bool
    summary: bool

    def wants(self, event: Envelope) -> bool:
        """Whether the filters keep `event`."""
        if event.seq <= self.since:
            return False
        if self.types and event_type(event) not in self.types:
            return False
        return not self.nodes or event.node in self.nodes


class Printer:
    """Prints the events a query keeps, as timeline lines or JSON lines."""

    def __init__(self, query: Query, console: Console) -> None:
        self.query = query
        self.console = console
        self.shown = 0

    def show(self, event: Envelope) -> None:
        """Print `event` if the query keeps it."""
        if not self.query.wants(event):
            return
        if self.shown == 0 and not self.query.as_json:
            self.console.print(f"[dim]{HEADER}[/]")
        self.shown += 1
        if self.query.as_json:
            click.echo(encode(event).decode())
        else:
            self.console.print(timeline_line(event))


async def inspect(settings: Settings, query: Query) -> None:
    """Print the run's events (following it live if asked), or its summary."""
    console = out_console()
    async with reading(settings) as store:
        events, state = await load_run(store, query.run_id)
        for node in sorted(query.nodes):
            check_node(state, node)
        if query.follow:
            events = await _follow(store.follow(query.run_id), query, console)
        elif not query.summary:
            _print_all(events, query, console)
        if query.summary:
            final = fold(events)
            if query.as_json:
                click.echo(final.model_dump_json(indent=2))
            else:
                print_summary(console, final, where(store, query.run_id))


def _print_all(events: Sequence[Envelope], query: Query, console: Console) -> None:
    printer = Printer(query, console)
    for event in events:
        printer.show(event)
    if printer.shown == 0 and not query.as_json:
        console.print(f"[dim]no events of run {query.run_id} match[/]")


async def _follow(
    source: AsyncIterator[Envelope],
    query: Query,
    console: Console,
) -> list[Envelope]:
    printer = Printer(query, console)
    seen: list[Envelope] = []
    async for event in source:
        seen.append(event)
        if not query.summary:
            printer.show(event)
    return seen


@click.command("events")
@click.argument("run_id")
@click.option(
    "--type",
    "-t",
    "types",
    multiple=True,
    type=click.Choice(sorted(EVENT_TYPES)),
    help="Only events of this type (repeatable).",
)
@click.option("--node", "-n", "nodes", multiple=True, help="Only events of this node (repeatable).")
@click.option(
    "--since",
    type=click.IntRange(min=0),
    default=0,
    metavar="SEQ",
    help="Only events after this seq.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (for jq).")
@click.option("--follow", "-f", is_flag=True, help="Follow a live run until it ends.")
@click.option(
    "--summary",
    is_flag=True,
    help="Per-node status, attempts, duration, model, tokens, cost, and the run totals.",
)
def events_command(
    run_id: str,
    types: tuple[str, ...],
    nodes: tuple[str, ...],
    since: int,
    as_json: bool,
    follow: bool,
    summary: bool,
) -> None:
    """Inspect the event log of RUN_ID.

    By default a timeline: seq, time, node, attempt, type and the key facts of each
    event. --json prints the stored events (without checksums) one per line; --follow
    tails a run written by another process until its terminal event.
    """
    query = Query(run_id, frozenset(types), frozenset(nodes), since, as_json, follow, summary)
    asyncio.run(inspect(current(), query))
