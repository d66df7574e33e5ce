"""`agentos runs`: the runs of the data dir, newest first, folded from their logs."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from agentos._exceptions import InvalidEventError
from agentos.cli.console import out_console
from agentos.cli.errors import one_line, usage
from agentos.cli.prune import parse_age, prune_runs
from agentos.cli.render import seconds, status_text
from agentos.cli.runlog import describe, reading
from agentos.cli.settings import Settings, current
from agentos.eventstore.base import EventStore, StoreError
from agentos.eventstore.jsonl import JsonlEventStore
from agentos.state.fold import fold
from agentos.state.run_state import FINISHED_RUN

STATUSES = (
    "pending",
    "running",
    "waiting",
    "interrupted",
    "succeeded",
    "failed",
    "cancelled",
    "corrupt",
)


@dataclass
class RunRow:
    """One run as listed."""

    run_id: str
    graph: str
    status: str
    events: int
    started: str | None
    duration_s: float | None
    error: str | None
    sort_key: float


async def _row(store: EventStore, run_id: str) -> RunRow | None:
    """The run's row; None for a log without an acknowledged event (its first batch was
    torn, or is being written now): that is no run yet."""
    path = store.log_path(run_id) if isinstance(store, JsonlEventStore) else None
    mtime = path.stat().st_mtime if path is not None and path.exists() else 0.0
    try:
        events = await store.read_all(run_id)
        state = fold(events)
    except (StoreError, InvalidEventError) as exc:
        return RunRow(run_id, "?", "corrupt", 0, None, None, one_line(str(exc)), mtime)
    if not events:
        return None
    when = state.started_at or state.created_at
    end = state.ended_at or state.updated_at
    status: str = state.status
    if not state.finished and not await store.has_writer(run_id):
        status = "interrupted"  # no process writes it: `agentos resume` carries it on
    return RunRow(
        run_id=run_id,
        graph=state.graph or "?",
        status=status,
        events=state.last_seq,
        started=when.isoformat() if when else None,
        duration_s=(end - when).total_seconds() if when and end else None,
        error=state.error,
        sort_key=when.timestamp() if when else mtime,
    )


async def list_rows(settings: Settings) -> tuple[str, list[RunRow]]:
    """The data dir and its runs, newest first; unreadable logs listed as corrupt."""
    async with reading(settings) as store:
        found = [await _row(store, run_id) for run_id in await store.list_runs()]
    rows = [row for row in found if row is not None]
    rows.sort(key=lambda r: (r.sort_key, r.run_id), reverse=True)
    return describe(store).rstrip("/"), rows


def _started(text: str | None) -> str:
    if text is None:
        return "-"
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _table(rows: list[RunRow]) -> Table:
    table = Table()
    for name in ("run", "graph", "status", "events", "started (UTC)", "duration", "error"):
        table.add_column(name, justify="right" if name == "events" else "left")
    for r in rows:
        error = escape(r.error[:100]) if r.error else ""
        table.add_row(
            r.run_id,
            escape(r.graph),
            status_text(r.status),
            str(r.events),
            _started(r.started),
            seconds(r.duration_s),
            error,
        )
    return table


@click.command("runs")
@click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON array.")
@click.option(
    "--prune",
    is_flag=True,
    help="Delete finished runs (succeeded, failed, cancelled) that ended more than "
    "--older-than ago; a dry run that lists them unless --yes.",
)
@click.option("--older-than", metavar="AGE", help="With --prune: 30d, 12h, 90m, 2w or 45s.")
@click.option("--yes", is_flag=True, help="With --prune: delete for real.")
def runs_command(
    status: str | None, as_json: bool, prune: bool, older_than: str | None, yes: bool
) -> None:
    """List the runs in the data dir, newest first; or prune old finished ones.

    Each log is folded: id, graph, status, events, start time, duration. A log that
    cannot be read is listed with status "corrupt" and its error; an unfinished run that
    no process writes any more, as "interrupted" (agentos resume carries it on). A log
    without one acknowledged event is not a run and is not listed.

    --prune --older-than 30d lists the finished runs that ended more than 30 days ago;
    add --yes to delete them (log and artifacts, through the store). Pending, running,
    waiting, interrupted and corrupt runs are never deleted, nor a run a writer has.
    """
    if prune or older_than is not None or yes:
        _prune(status, as_json, prune, older_than, yes)
        return
    root, rows = asyncio.run(list_rows(current()))
    if status is not None:
        rows = [r for r in rows if r.status == status]
    if as_json:
        docs: list[dict[str, Any]] = [asdict(r) for r in rows]
        for doc in docs:
            doc.pop("sort_key")
        click.echo(json.dumps(docs, indent=2))
        return
    console = out_console()
    if not rows:
        which = f" with status {status}" if status else ""
        console.print(f"no runs{which} in {escape(root)}")
        return
    console.print(_table(rows))


def _prune(
    status: str | None, as_json: bool, prune: bool, older_than: str | None, yes: bool
) -> None:
    """`--prune`: check the options, then list (or delete) the old finished runs."""
    if not prune:
        raise usage(
            "--older-than and --yes go with --prune", "agentos runs --prune --older-than 30d"
        )
    if older_than is None:
        raise usage("--prune needs --older-than AGE", "e.g. agentos runs --prune --older-than 30d")
    if status is not None and status not in FINISHED_RUN:
        finished = ", ".join(sorted(FINISHED_RUN))
        raise usage(f"--prune deletes finished runs only, not {status}", f"use one of {finished}")
    statuses = frozenset({status}) if status else FINISHED_RUN
    found = asyncio.run(prune_runs(current(), parse_age(older_than), statuses, delete=yes))
    if as_json:
        docs = [{**asdict(p), "ended": p.ended.isoformat()} for p in found]
        click.echo(json.dumps(docs, indent=2))
        return
    console = out_console()
    if not found:
        console.print(f"no finished runs ended more than {escape(older_than)} ago")
        return
    for p in found:
        console.print(
            f"{p.outcome}: {p.run_id} ({p.status}, ended {_started(p.ended.isoformat())})"
        )
    deleted = sum(p.outcome == "deleted" for p in found)
    if yes:
        console.print(f"deleted {deleted} of {len(found)} runs")
    else:
        console.print(f"dry run: {len(found)} runs would be deleted; add --yes to delete them")
