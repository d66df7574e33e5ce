"""`agentos diff`: two runs compared step by step, and where their logs diverge."""

from __future__ import annotations

import asyncio
import json

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentos.cli.console import out_console
from agentos.cli.render import status_text
from agentos.cli.runlog import read_run, reading
from agentos.cli.settings import Settings, current
from agentos.cli.timeline import money
from agentos.state._steps import StepRecord
from agentos.state.diff import RunDiff, RunSide, StepDiff, diff_runs

#: output differences printed per step (--json has them all, up to 50)
SHOWN_CHANGES = 5


async def load_diff(settings: Settings, run_a: str, run_b: str) -> RunDiff:
    """The diff of two runs of the store (a usage error for an unknown run)."""
    async with reading(settings) as store:
        events_a = await read_run(store, run_a)
        events_b = await read_run(store, run_b)
    return diff_runs(events_a, events_b)


def _side(label: str, side: RunSide) -> str:
    origin = f", replay of {side.replayed_from}" if side.replayed_from else ""
    return (
        f"{label} {side.run_id} ({escape(side.graph)}{origin}): {status_text(side.status)}, "
        f"{side.events} events, {side.calls} calls, {side.tokens_in}+{side.tokens_out} "
        f"tokens, {money(side.cost)}"
    )


def _cell(record: StepRecord | None) -> str:
    if record is None:
        return "[dim]absent[/]"
    return status_text(record.status)


def _model(record: StepRecord | None) -> str:
    return escape(record.model) if record is not None and record.model else "-"


def _cost(record: StepRecord | None) -> str:
    return money(record.cost) if record is not None and record.calls else "-"


def _table(diff: RunDiff) -> Table:
    table = Table()
    for name in ("step", "ran", "a", "b", "model a", "model b", "cost a", "cost b", "differs"):
        table.add_column(name)
    for step in diff.steps:
        table.add_row(
            escape(step.step),
            step.ran,
            _cell(step.a),
            _cell(step.b),
            _model(step.a),
            _model(step.b),
            _cost(step.a),
            _cost(step.b),
            "[yellow]" + ", ".join(step.changes) + "[/]" if step.changes else "[dim]same[/]",
        )
    return table


def _outputs(console: Console, step: StepDiff) -> None:
    for change in step.output[:SHOWN_CHANGES]:
        where = change.path or "(the whole output)"
        if change.only_in == "a":
            text = f"only in a: {json.dumps(change.a)}"
        elif change.only_in == "b":
            text = f"only in b: {json.dumps(change.b)}"
        else:
            text = f"a {json.dumps(change.a)} | b {json.dumps(change.b)}"
        console.print(f"  {escape(step.step)}.output {escape(where)}: {escape(text[:200])}")
    hidden = len(step.output) - SHOWN_CHANGES
    if hidden > 0:
        console.print(f"  [dim]{escape(step.step)}: {hidden} more (see --json)[/]")
    if "error" in step.changes:
        for label, record in (("a", step.a), ("b", step.b)):
            if record is not None and record.error:
                console.print(f"  {escape(step.step)} error in {label}: {escape(record.error)}")


def print_diff(console: Console, diff: RunDiff) -> None:
    """The two runs, a table of steps, what their outputs differ in, the divergence."""
    console.print(_side("a", diff.a))
    console.print(_side("b", diff.b))
    console.print(_table(diff))
    for step in diff.steps:
        _outputs(console, step)
    point = diff.diverged
    if point is None:
        console.print("the logs are the same event for event (ids, times and timings aside)")
        return
    sides = [
        f"{label}: {event.type}{f' {event.node}' if event.node else ''}"
        if event is not None
        else f"{label}: (log ended)"
        for label, event in (("a", point.a), ("b", point.b))
    ]
    console.print(f"the logs diverge at seq {point.seq} ({escape(', '.join(sides))})")
    if diff.same:
        console.print("every step is the same in both (what differs is in the log only)")


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--json", "as_json", is_flag=True, help="Print the diff as one JSON object.")
def diff_command(run_a: str, run_b: str, as_json: bool) -> None:
    """Compare RUN_A with RUN_B, e.g. a replay with its source.

    Per step (node, map instance `node[i]`, loop pass `node#2`): whether it ran in
    both, its status, output differences, model, tokens and cost; then the first seq
    where the logs diverge (events compared without run id, timestamps and durations).
    Exit 0 whether or not they differ.
    """
    diff = asyncio.run(load_diff(current(), run_a, run_b))
    if as_json:
        click.echo(diff.model_dump_json(indent=2))
        return
    print_diff(out_console(), diff)
