"""`agentos resume`: carry on an interrupted run from its log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from agentos.cli.console import error_console, out_console
from agentos.cli.errors import failure, hush_runtime_log
from agentos.cli.runlog import load_run, open_store, reading, where
from agentos.cli.session import (
    Tracker,
    agents,
    follow,
    graph_finder,
    report,
    run_spec,
    start_problem,
    supervisor,
)
from agentos.cli.settings import Settings, current
from agentos.graphs.catalog import catalog_for
from agentos.graphs.validate import GraphValidationError
from agentos.state.run_state import RunState


async def carry_on(settings: Settings, run_id: str, quiet: bool) -> tuple[RunState, Path | str]:
    """Resume the run (unless it already ended) and follow it to its end."""
    async with reading(settings) as probe:
        events, state = await load_run(probe, run_id)
    if not events:
        raise failure(
            f"run {run_id} has no acknowledged events (its first batch never reached the "
            "disk whole)",
            "there is nothing to resume: start a new run",
        )
    console = error_console() if quiet else out_console()
    if state.finished:
        console.print(f"run {run_id} already ended: {state.status}")
        return state, where(probe, run_id)
    spec = run_spec(state)
    store = open_store(settings)
    try:
        catalog = catalog_for(settings.data, agents(), store)
        graphs = graph_finder(catalog, recorded=state.graphs)
        async with supervisor(spec, store, catalog, graphs=graphs) as sup:
            await sup.resume(run_id)
            console.print(f"run [bold]{run_id}[/] resumed after seq {state.last_seq}")
            final = await follow(sup, run_id, console, after_seq=state.last_seq)
            return final, where(store, run_id)
    except GraphValidationError as exc:
        raise start_problem(run_id, exc) from exc


@click.command("resume")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the final RunState as JSON.")
def resume_command(run_id: str, as_json: bool) -> None:
    """Continue the interrupted run RUN_ID from its log.

    What already succeeded is not run again. Exits 0 when the run succeeds, 1 if not
    (also when another process still writes it).
    """
    tracker = Tracker()
    tracker.run_id = run_id
    hush_runtime_log(current().debug)
    try:
        final, log_path = asyncio.run(carry_on(current(), run_id, as_json))
    except KeyboardInterrupt:
        raise tracker.interrupted() from None
    report(final, log_path, as_json)
