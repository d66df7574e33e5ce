"""Signals for runs: a checked payload; a signal recorded in the log of a run that
nobody drives (it is taken when the run resumes); a signal handed, through a request
file, to the supervisor of another process that drives the run."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from agentos._exceptions import (
    AgentOSError,
    InvalidInputError,
    RunEndedError,
    RunLockedError,
    UnknownRunError,
)
from agentos._files import write_atomic
from agentos._names import safe_name
from agentos.actors._unowned import decide_unowned
from agentos.actors.cancel import TIMEOUT, data_dir
from agentos.events.limits import InputDict
from agentos.events.model import SignalReceived
from agentos.eventstore.base import EventStore
from agentos.machine.facts import Cancel, Signal
from agentos.state.load import load_state
from agentos.state.run_state import RunState

_PAYLOAD: TypeAdapter[dict[str, Any]] = TypeAdapter(InputDict)


def signal_payload(data: Any) -> dict[str, Any]:
    """`data` as a signal's payload (a bounded JSON object); InvalidInputError if not."""
    try:
        return _PAYLOAD.validate_python({} if data is None else data, strict=True)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise InvalidInputError(f"a signal's data must be a JSON object: {problem}") from None


async def record_signal(
    store: EventStore, run_id: str, name: str, payload: dict[str, Any]
) -> RunState:
    """Append `signal_received` to the log of a run nobody drives; its state after.

    The log is owned while the signal is appended, then released: RunLockedError (naming
    the owner's pid) when another process drives the run, RunEndedError once it ended.
    """
    safe_name(name, "signal name")
    if not await store.exists(safe_name(run_id, "run id")):
        raise UnknownRunError(f"unknown run {run_id!r}")
    return await decide_unowned(store, run_id, lambda m: m.record(Signal(run_id, name, payload)))


#: a dot-folder of the data dir, as `.cancel-requests`: one file per signal to deliver
SIGNAL_REQUESTS = ".signal-requests"
_SEP = "+"  # between run id and nonce in a request's file name (never in a run id)


def signal_requested(root: Path, run_ids: Collection[str]) -> bool:
    """Whether a signal request waits for one of `run_ids` (one listdir)."""
    try:
        names = os.listdir(root / SIGNAL_REQUESTS)
    except FileNotFoundError:
        return False
    return any(name.partition(_SEP)[0] in run_ids for name in names)


def take_signal_requests(root: Path, run_ids: Collection[str]) -> list[Signal]:
    """The signals requested for `run_ids`, oldest first, their files removed (blocking).
    A request that does not parse is dropped (its sender times out and says so)."""
    folder = root / SIGNAL_REQUESTS
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    taken = []
    for file in names:
        run_id = file.partition(_SEP)[0]
        if run_id not in run_ids:
            continue
        try:
            raw = (folder / file).read_bytes()
            (folder / file).unlink()
            doc = orjson.loads(raw)
            taken.append(Signal(run_id, str(doc["name"]), signal_payload(doc["payload"])))
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, InvalidInputError):
            continue
    return taken


async def send_signal(
    store: EventStore, run_id: str, name: str, payload: dict[str, Any], timeout: float = TIMEOUT
) -> RunState:
    """Deliver a signal to a run the caller does not drive; its state after.

    Nobody drives it: `record_signal`. Another supervisor drives it: a request file in
    `{data}/.signal-requests/`, which that supervisor turns into a `Signal` fact; the
    caller follows the log until the signal is recorded, for at most `timeout` seconds
    (TimeoutError then, the request withdrawn)."""
    try:
        return await record_signal(store, run_id, name, payload)
    except RunLockedError:
        root = data_dir(store)
    after = (await load_state(store, run_id)).last_seq
    path = None
    if root is None:  # a store shared without a data dir hands the owner a command
        await store.send_command(run_id, "signal", {"name": name, "payload": payload})
    else:
        path = (
            root / SIGNAL_REQUESTS / f"{run_id}{_SEP}{time.time_ns():020d}-{secrets.token_hex(4)}"
        )
        doc = orjson.dumps({"name": name, "payload": payload})
        await asyncio.to_thread(write_atomic, path, doc, False)
    taken = False
    try:
        async with asyncio.timeout(timeout):
            async for event in store.follow(run_id, after):
                if isinstance(event, SignalReceived) and event.data.name == name:
                    taken = True
                    break
    finally:
        if not taken and path is not None:
            await asyncio.to_thread(path.unlink, missing_ok=True)
    if not taken:
        raise RunEndedError(f"run {run_id} ended before it took signal {name!r}")
    return await load_state(store, run_id)


#: the notification key that says commands were sent (see `EventStore.send_command`)
COMMANDS = "#commands"
COMMANDS_POLL = 2.0  # seconds between checks for commands when no notification came


def command_fact(run_id: str, kind: str, payload: Any) -> Cancel | Signal | None:
    """The fact a command stands for; None for one that does not parse."""
    try:
        if kind == "cancel":
            return Cancel(run_id, str(payload.get("reason") or "cancelled"))
        if kind == "signal":
            return Signal(
                run_id,
                safe_name(str(payload["name"]), "signal name"),
                signal_payload(payload["payload"]),
            )
    except (AttributeError, KeyError, TypeError, AgentOSError):
        pass
    return None
