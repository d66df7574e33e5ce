"""`agentos cancel`: end a run as cancelled, through whoever drives it."""

from __future__ import annotations

import asyncio

import click

from agentos.actors.cancel import TIMEOUT, cancel_elsewhere
from agentos.cli.console import out_console
from agentos.cli.errors import failure
from agentos.cli.runlog import load_run, reading
from agentos.cli.settings import Settings, current
from agentos.state.run_state import RunState


async def cancel_run(settings: Settings, run_id: str, reason: str, timeout: float) -> RunState:
    """Cancel the run (taking its log if nobody drives it, else asking its owner)."""
    async with reading(settings) as store:
        _, state = await load_run(store, run_id)
        if state.finished:
            raise failure(f"run {run_id} already ended: {state.status}", "nothing to cancel")
        try:
            return await cancel_elsewhere(store, run_id, reason, timeout)
        except TimeoutError:
            raise failure(
                f"run {run_id} was not cancelled: its owner did not answer within {timeout:g} s",
                "is the process that drives it stuck? the request was withdrawn",
            ) from None


@click.command("cancel")
@click.argument("run_id")
@click.option("--reason", default="cancelled by the user", help="Why, recorded in the log.")
def cancel_command(run_id: str, reason: str) -> None:
    """Cancel the run RUN_ID: running nodes are stopped and nothing new starts.

    A run driven by another process (`agentos run`, `agentos serve`) is cancelled by
    that process; one nobody drives is cancelled here. Exits 0 once its log ends
    cancelled, 1 if it had already ended or its owner did not cancel it within 10 s.
    """
    state = asyncio.run(cancel_run(current(), run_id, reason, TIMEOUT))
    if state.status != "cancelled":
        raise failure(f"run {run_id} ended {state.status} before the cancel")
    out_console().print(f"run [bold]{run_id}[/] cancelled")
