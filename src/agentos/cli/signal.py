"""`agentos signal`: send a signal to a run (an approval, a rejection, any JSON object)."""

from __future__ import annotations

import asyncio
from typing import Any

import click
import orjson

from agentos._exceptions import RunEndedError, RunLockedError
from agentos.actors.signals import send_signal, signal_payload
from agentos.cli.console import out_console
from agentos.cli.errors import failure, usage
from agentos.cli.runlog import check_run_id, reading
from agentos.cli.settings import Settings, current
from agentos.state.run_state import RunState


def parse_data(text: str | None) -> dict[str, Any]:
    """The --data option as a signal's payload; a usage error for anything but an object."""
    try:
        return signal_payload(orjson.loads(text) if text is not None else None)
    except orjson.JSONDecodeError as exc:
        raise usage(f"--data is not JSON: {exc}", "e.g. --data '{\"approved\": true}'") from None
    except ValueError as exc:
        raise usage(str(exc), "e.g. --data '{\"approved\": true}'") from None


async def send(
    settings: Settings, run_id: str, name: str, payload: dict[str, Any]
) -> tuple[RunState, bool]:
    """Record the signal in the log of a run nobody drives, or hand it to the process
    that drives it; the state after, and whether another process drives the run."""
    async with reading(settings) as store:
        await check_run_id(store, run_id)
        try:
            driven = await store.has_writer(run_id)  # by another process: it takes it
            return await send_signal(store, run_id, name, payload), driven
        except RunLockedError as exc:
            raise failure(
                str(exc).splitlines()[0],
                f"send it to the process that drives it (POST /runs/{run_id}/signals/{name} "
                "on its server)",
            ) from None
        except TimeoutError:
            raise failure(
                f"the process that drives run {run_id} did not take signal {name!r}",
                "is it stuck? stop it, then send the signal again",
            ) from None
        except RunEndedError:
            raise failure(f"run {run_id} has ended: it takes no more signals") from None


@click.command("signal")
@click.argument("run_id")
@click.argument("name")
@click.option("--data", metavar="JSON", help="The payload, a JSON object (default {}).")
def signal_command(run_id: str, name: str, data: str | None) -> None:
    """Send the signal NAME to the run RUN_ID (e.g. approval --data '{"approved": true}').

    A run another process drives (`agentos run`, `agentos serve`) gets it at once; for a
    run nobody drives, the node waiting for NAME takes it when the run resumes (agentos
    resume RUN_ID). A signal no node waits for yet is kept until one does. Exits 2 on
    bad input, 1 when the run has ended or the process that drives it does not take it.
    """
    payload = parse_data(data)
    state, driven = asyncio.run(send(current(), run_id, name, payload))
    if driven:
        out_console().print(
            f"signal {name} delivered to run {run_id} (driven by another process)",
            highlight=False,
        )
        return
    waiting = [n for n, w in state.waiting.items() if w.signal == name]
    who = f"node {waiting[0]} waits for it" if waiting else "no node waits for it yet"
    out_console().print(
        f"signal {name} recorded for run {run_id} ({who}); carry the run on with: "
        f"agentos resume {run_id}",
        highlight=False,
    )
