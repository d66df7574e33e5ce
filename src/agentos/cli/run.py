"""`agentos run`: run a graph file or a catalog graph to its end, with live progress."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from agentos._exceptions import (
    EventRejectedError,
    InvalidInputError,
    RunExistsError,
    RunStalledError,
)
from agentos.actors.supervisor import Supervisor
from agentos.actors.supervisor_actor import Listener
from agentos.cli.console import error_console, out_console
from agentos.cli.errors import CliError, Interrupted, failure, hush_runtime_log, usage
from agentos.cli.inputs import parse_inputs
from agentos.cli.live import progress_for
from agentos.cli.runlog import open_store, where
from agentos.cli.session import (
    GRAPH_SUFFIXES,
    Tracker,
    agents,
    follow,
    graph_finder,
    report,
    supervisor,
)
from agentos.cli.settings import Settings, current, pool_option, read_pool
from agentos.cli.streams import StreamedCalls
from agentos.graphs.catalog import Catalog, catalog_for
from agentos.graphs.load import load_graph
from agentos.graphs.spec import GraphSpec
from agentos.graphs.validate import GraphValidationError
from agentos.observe import observers
from agentos.observe.lifecycle import LOGGER
from agentos.observe.logformat import LOG_FORMATS, log_lines
from agentos.routing.pool import ProviderPool
from agentos.routing.streaming import FEED
from agentos.state.run_state import RunState

CTRL_C = "interrupted by the user (Ctrl-C)"


class _CancelledByUser(Exception):
    """Ctrl-C cancelled the run (control flow from `execute` to the command)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


def graph_problem(ref: str, exc: GraphValidationError) -> CliError:
    """The usage error for a graph that fails validation, listing every problem."""
    problems = "; ".join(p.message if p.where == ref else str(p) for p in exc.problems)
    return usage(f"graph {ref!r} is invalid: {problems}", "fix the graph and retry")


def resolve_graph(ref: str, catalog: Catalog) -> GraphSpec:
    """A graph from a .yaml/.yml/.json file or a catalog name."""
    path = Path(ref)
    try:
        if path.suffix.lower() in GRAPH_SUFFIXES or path.is_file():
            return load_graph(path)
        return catalog.resolved(ref)
    except GraphValidationError as exc:
        raise graph_problem(ref, exc) from exc
    except KeyError:
        known = ", ".join(sorted(catalog.graphs)) or "none"
        raise usage(
            f"unknown graph {ref!r}{catalog.problems_note()}",
            f"pass a .yaml/.yml/.json file or a registered name: {known}",
        ) from None


def _folder(ref: str) -> Path | None:
    """The folder of a graph file (where its child graphs may be), None for a name."""
    path = Path(ref)
    return path.parent if path.suffix.lower() in GRAPH_SUFFIXES or path.is_file() else None


async def execute(
    settings: Settings,
    ref: str,
    inputs: dict[str, Any],
    quiet: bool,
    tracker: Tracker,
    listeners: Sequence[Listener] = (),
    pool: ProviderPool | None = None,
) -> tuple[RunState, Path | str]:
    """Validate the graph, start the run, show its progress, return its final state."""
    store = open_store(settings, must_exist=False)
    catalog = catalog_for(settings.data, agents(), store)  # the store's table, if shared
    if pool is not None:
        catalog.pool = pool  # for this run only; the catalog's own pool is not replaced
    spec = resolve_graph(ref, catalog)
    console = error_console() if quiet else out_console()
    try:
        async with supervisor(
            spec,
            store,
            catalog,
            policies=catalog.policies,
            profiles=catalog.profiles,
            listeners=listeners,
            graphs=graph_finder(catalog, _folder(ref)),
        ) as sup:
            run_id = await _start(sup, spec, inputs, console, tracker)
            calls = StreamedCalls()  # the token deltas of its streamed model calls
            progress, shown = progress_for(console, calls)
            try:
                with shown, FEED.listen(run_id, calls.add):
                    state = await follow(sup, run_id, console, progress=progress)
                return state, where(store, run_id)
            except asyncio.CancelledError:
                # asyncio.run cancels this task on the first Ctrl-C (a second one raises
                # KeyboardInterrupt): end the run cancelled, durably, before leaving
                task = asyncio.current_task()
                if task is None or task.uncancel() > 0:
                    raise
                await sup.cancel(run_id, CTRL_C)
                raise _CancelledByUser(run_id) from None
    except GraphValidationError as exc:
        raise graph_problem(ref, exc) from exc


async def _start(
    sup: Supervisor, spec: GraphSpec, inputs: dict[str, Any], console: Console, tracker: Tracker
) -> str:
    try:
        run_id = await sup.start_run(inputs)
    except (InvalidInputError, RunExistsError, EventRejectedError, FileNotFoundError) as exc:
        raise usage(f"cannot start {spec.name}: {exc}", "check the run's --input") from exc
    except RunStalledError as exc:  # its first events were not stored: nothing to resume
        fix = "free some space" if exc.no_space else "fix the disk"
        raise failure(f"cannot start {spec.name}: {exc.reason}", f"{fix} and run it again") from exc
    tracker.run_id = run_id
    console.print(f"run [bold]{run_id}[/] of {spec.name} started")
    return run_id


@click.command("run")
@click.argument("graph")
@click.option(
    "--input",
    "-i",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A run input; the value is parsed as JSON when it parses, else kept as a string.",
)
@click.option(
    "--inputs-json",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="A JSON object of run inputs (each --input overrides its keys).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final RunState as JSON.")
@pool_option
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    help="Also write run lifecycle lines to stderr, as text or one JSON object per line.",
)
def run_command(
    graph: str,
    pairs: tuple[str, ...],
    inputs_json: Path | None,
    as_json: bool,
    pool_file: Path | None,
    log_format: str | None,
) -> None:
    """Run GRAPH (a .yaml/.yml/.json file or a catalog name) to its end.

    Shows one line per node start and end (and per streamed model call, with the end of
    its answer), then the summary. Exits 0 when the run succeeds, 1 when it fails.
    """
    settings = current()
    inputs = parse_inputs(pairs, inputs_json)
    pool = read_pool(pool_file)
    hush_runtime_log(settings.debug)
    try:
        observed = observers.from_env()  # traces when the OTEL_* variables ask for them
    except InvalidInputError as exc:
        raise usage(str(exc), "fix the OTEL_* variables") from exc
    lines = log_lines(log_format, LOGGER) if log_format else contextlib.nullcontext()
    tracker = Tracker()
    try:
        with lines:
            state, log_path = asyncio.run(
                execute(settings, graph, inputs, as_json, tracker, observed.listeners, pool)
            )
    except KeyboardInterrupt:
        raise tracker.interrupted() from None
    except _CancelledByUser as exc:
        observed.close()
        _leave_cancelled(exc.run_id)
    finally:
        observed.close()  # exports the spans of the run
    report(state, log_path, as_json)


def _leave_cancelled(run_id: str) -> None:
    """Say the run was cancelled and exit 130 at once: its log already ends with
    run_cancelled, and a thread agent still running (nothing can stop a thread) must
    not keep the process alive; its result would be ignored anyway."""
    Interrupted(f"interrupted: run {run_id} cancelled").show()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(Interrupted.exit_code)
