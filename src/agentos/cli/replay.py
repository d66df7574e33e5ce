"""`agentos replay`: fork a run from a step and execute it, or show the state at a step."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import click

from agentos.actors.replay import fork_events
from agentos.cli.console import error_console, out_console
from agentos.cli.errors import usage
from agentos.cli.render import print_state
from agentos.cli.runlog import load_run, open_store, parse_step, reading, where
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
from agentos.cli.settings import Settings, current, read_pool
from agentos.events.model import Envelope
from agentos.graphs.catalog import catalog_for
from agentos.graphs.validate import GraphValidationError
from agentos.routing.pool import ProviderPool, default_pool
from agentos.routing.what_if import WhatIf, replay_problem
from agentos.state.fold import UnknownStepError, fold, starts_step
from agentos.state.run_state import RunState


def step_error(run_id: str, events: list[Envelope], exc: UnknownStepError) -> click.ClickException:
    """A usage error for a step the run does not have, listing the steps it has."""
    started: list[str] = []
    for e in events:
        if e.node and e.node not in started and starts_step(e, e.node):
            started.append(e.node)
    steps = ", ".join(started) or "none"
    message = str(exc)
    if not message.startswith(f"run {run_id}"):
        message = f"run {run_id}: {message}"
    return usage(
        message,
        f"steps: a seq 1..{len(events)} or a node it started: {steps}",
    )


async def show_state(settings: Settings, run_id: str, step: str) -> RunState:
    """The run's state folded up to `step`, executing nothing."""
    async with reading(settings) as store:
        events, _ = await load_run(store, run_id)
    upto = parse_step(step)
    try:
        if upto == 0:
            raise UnknownStepError(f"run {run_id} has no seq 0 (seqs start at 1)")
        return fold(events, upto=upto)
    except UnknownStepError as exc:
        raise step_error(run_id, events, exc) from None


@dataclass(frozen=True)
class ModelChoice:
    """The models a replay's calls use: the pool it routes through (the catalog's, else
    AGENTOS_POOL's, unless a what-if's) and the what-if, if any."""

    pool: ProviderPool | None = None
    what_if: WhatIf | None = None


def model_choice(model: str | None, pool_file: Path | None) -> ModelChoice:
    """What `--model` and `--pool` ask for; a bad value is a usage error (exit 2)."""
    if model is not None and "/" not in model.strip("/"):
        raise usage(f"--model {model!r}: expected provider/model", "e.g. --model simA/sim-mid")
    if pool_file is not None:
        return ModelChoice(read_pool(pool_file), WhatIf(model=model))
    pool = read_pool(Path(os.environ["AGENTOS_POOL"])) if os.environ.get("AGENTOS_POOL") else None
    return ModelChoice(pool, None if model is None else WhatIf(model=model))


async def fork(
    settings: Settings,
    run_id: str,
    step: str,
    quiet: bool,
    tracker: Tracker,
    choice: ModelChoice = ModelChoice(),
) -> tuple[RunState, Path | str]:
    """Fork `run_id` from `step`, execute the fork to its end, return its final state."""
    async with reading(settings) as probe:
        events, state = await load_run(probe, run_id)
    try:
        prefix = len(fork_events(events, parse_step(step), "dry-run"))
    except UnknownStepError as exc:
        raise step_error(run_id, events, exc) from None
    spec = run_spec(state)
    console = error_console() if quiet else out_console()
    store = open_store(settings)
    catalog = catalog_for(settings.data, agents(), store)  # the store's table, if shared
    catalog.pool = choice.pool or catalog.pool  # for this replay only
    problem = replay_problem(catalog.pool or default_pool(), events, prefix - 1, choice.what_if)
    if problem is not None:
        await store.close()
        hint = "configure it, or ask for a what-if: --model PROVIDER/MODEL or --pool FILE"
        raise usage(problem, None if choice.what_if else hint)
    try:
        graphs = graph_finder(catalog, recorded=state.graphs)
        async with supervisor(spec, store, catalog, graphs=graphs) as sup:
            new_id = await sup.replay(run_id, parse_step(step), choice.what_if)
            tracker.run_id = new_id
            console.print(f"replay [bold]{new_id}[/] of {run_id} from step {step} started")
            final = await follow(sup, new_id, console, after_seq=prefix)
            return final, where(store, new_id)
    except GraphValidationError as exc:
        raise start_problem(run_id, exc) from exc


@click.command("replay")
@click.argument("run_id")
@click.option("--from-step", metavar="NODE|SEQ", help="Fork a new run from this step and run it.")
@click.option("--to-step", metavar="NODE|SEQ", help="Show the state at this step (with --show).")
@click.option("--show", is_flag=True, help="Print the state at --to-step; executes nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the RunState as JSON.")
@click.option(
    "--model",
    metavar="PROVIDER/MODEL",
    help="What-if: send every call the replay makes to this model of the pool.",
)
@click.option(
    "--pool",
    "pool_file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="What-if: route the replay's calls through this pool file, as the router picks.",
)
def replay_command(
    run_id: str,
    from_step: str | None,
    to_step: str | None,
    show: bool,
    as_json: bool,
    model: str | None,
    pool_file: Path | None,
) -> None:
    """Replay RUN_ID from a step, or show its state at a step.

    A step is a node name (just before it first started) or a seq (all digits).
    --from-step forks a new run from the step and executes it to its end (exit 0 if
    it succeeds, 1 if not); --to-step STEP --show prints the folded state at the step.
    The steps it runs again call the models the original recorded, and a call the
    original made with the very same request is answered from its log, not sent; it
    refuses (exit 2) when the pool lacks one of those models. --model or --pool make a
    what-if instead.
    """
    if (from_step is None) == (to_step is None):
        raise usage("give exactly one of --from-step and --to-step", "see: agentos replay --help")
    if to_step is not None:
        if not show:
            raise usage("--to-step needs --show", "--to-step only shows a state")
        state = asyncio.run(show_state(current(), run_id, to_step))
        if as_json:
            click.echo(state.model_dump_json(indent=2))
        else:
            print_state(out_console(), state, to_step)
        return
    if show:
        raise usage("--show goes with --to-step", "--from-step executes a replay")
    assert from_step is not None
    choice = model_choice(model, pool_file)
    tracker = Tracker()
    settings = current()
    try:
        final, log_path = asyncio.run(fork(settings, run_id, from_step, as_json, tracker, choice))
    except KeyboardInterrupt:
        raise tracker.interrupted() from None
    report(final, log_path, as_json)
