"""A supervisor for one CLI command: started on the command's loop, always stopped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console

from agentos._progress import Progress
from agentos.actors.children import GraphResolver
from agentos.actors.supervisor import Supervisor
from agentos.agents.registry import AgentRegistry
from agentos.cli.console import out_console
from agentos.cli.errors import CliError, Interrupted, failure
from agentos.cli.render import print_summary
from agentos.demo import registry
from agentos.eventstore.base import EventStore
from agentos.graphs.catalog import Catalog
from agentos.graphs.load import load_graph
from agentos.graphs.spec import GraphSpec, resolve
from agentos.graphs.validate import GraphValidationError
from agentos.state.run_state import RunState


def agents() -> AgentRegistry:
    """The demo registry; other agents resolve by import path (package.module:callable)."""
    return registry


#: the files a graph may be given as
GRAPH_SUFFIXES = (".yaml", ".yml", ".json")


def graph_finder(
    catalog: Catalog, beside: Path | None = None, recorded: Mapping[str, Any] | None = None
) -> GraphResolver:
    """Where `graph:` nodes find their graphs: those a run `recorded` (a resume runs
    what it started with), the catalog, then `NAME.yaml` (.yml, .json) in `beside`, the
    folder of the graph file being run."""

    def find(name: str) -> GraphSpec | None:
        if recorded and name in recorded:
            return GraphSpec.model_validate(recorded[name])
        found = catalog.find(name)  # a shared catalog reloads when another process changed it
        if found is not None:
            return found
        for suffix in GRAPH_SUFFIXES if beside is not None else ():
            path = beside / f"{name}{suffix}" if beside is not None else Path()
            if path.is_file():
                return resolve(load_graph(path), catalog.policies, catalog.profiles)
        return None

    return find


@asynccontextmanager
async def supervisor(
    spec: GraphSpec, store: EventStore, catalog: Catalog, **kw: Any
) -> AsyncIterator[Supervisor]:
    """A supervisor of `spec` on `store`; stopped, and the store closed, on exit. Its
    `graph:` nodes find their graphs with `graph_finder` unless `graphs` is given."""
    kw.setdefault("graphs", graph_finder(catalog))
    try:
        sup = Supervisor.start(spec, store, agents=agents(), pool=catalog.pool, **kw)
        try:
            yield sup
        finally:
            await sup.stop()
    finally:
        await store.close()


async def follow(
    sup: Supervisor,
    run_id: str,
    console: Console,
    after_seq: int = 0,
    progress: Progress | None = None,
) -> RunState:
    """Show the run's progress after `after_seq` until it ends (with `progress`, else
    plain lines on `console`); returns its final state.

    A run that stalls (an append failed) never ends: `wait` raises, and so does this."""
    progress = progress if progress is not None else Progress(console)

    async def show() -> None:
        async for event in sup.events(run_id, after_seq):
            progress.show(event)

    shown, waited = asyncio.ensure_future(show()), asyncio.ensure_future(sup.wait(run_id))
    try:
        await asyncio.wait({shown, waited}, return_when=asyncio.FIRST_EXCEPTION)
        for task in (waited, shown):
            error = task.exception() if task.done() else None
            if error is not None:
                raise error
        return waited.result()
    finally:
        for task in (shown, waited):
            task.cancel()
        await asyncio.gather(shown, waited, return_exceptions=True)


class Tracker:
    """Remembers the run a command works on, to name it if the user interrupts."""

    def __init__(self) -> None:
        self.run_id: str | None = None

    def interrupted(self) -> CliError:
        """The error for Ctrl-C: the run stays in its log, ready to resume."""
        if self.run_id is None:
            return Interrupted("interrupted")
        return Interrupted(
            f"interrupted: run {self.run_id} is kept in its log",
            f"continue it with: agentos resume {self.run_id}",
        )


def run_spec(state: RunState) -> GraphSpec:
    """The graph of a run, from the spec recorded in its run_created event."""
    try:
        return GraphSpec.model_validate(state.spec)
    except ValidationError as exc:
        raise failure(
            f"run {state.run_id or '?'} has no usable graph spec in its log: "
            f"{exc.error_count()} problem(s)",
            "was it created by this version of agentos?",
        ) from None


def start_problem(run_id: str, exc: GraphValidationError) -> CliError:
    """The error for a recorded graph that cannot run here (e.g. an agent is missing)."""
    problems = "; ".join(str(p) for p in exc.problems)
    return failure(
        f"the graph of run {run_id} cannot run here: {problems}",
        "make its agents importable",
    )


def report(state: RunState, log_path: Path | str, as_json: bool) -> None:
    """Print the final state (summary or JSON) and exit 0 if it succeeded, else 1."""
    if as_json:
        click.echo(state.model_dump_json(indent=2))
    else:
        print_summary(out_console(), state, log_path)
    click.get_current_context().exit(0 if state.status == "succeeded" else 1)
