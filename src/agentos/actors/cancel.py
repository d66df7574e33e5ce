"""Cancelling a run the caller does not drive: it has one writer, so the cancel goes to it.

- Nobody owns the run's log (its process is gone): take the log (`RunLog.open`), let a
  `RunMachine` folded from it decide the `Cancel` (node_cancelled for what was active,
  then run_cancelled), append that, and release the log.
- Another supervisor owns it, in this process or another: write the request file
  `{data}/.cancel-requests/{run_id}`; every supervisor on a store with a data dir lists
  that one folder every `POLL` seconds (`take_requests`: one listdir, whatever the number
  of runs) and turns a request for a run it drives into a `Cancel` fact. The caller
  follows the log until it ends, for at most `timeout` seconds; a request nobody took
  by then is withdrawn.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Collection
from pathlib import Path

import orjson

from agentos._exceptions import RunLockedError
from agentos._files import write_atomic
from agentos._names import safe_name
from agentos.actors._unowned import decide_unowned
from agentos.eventstore.base import EventStore
from agentos.machine.facts import Cancel
from agentos.state.load import load_state
from agentos.state.run_state import RunState

REQUESTS = ".cancel-requests"  # a dot-folder of the data dir: never a run
POLL = 0.2  # seconds between a supervisor's checks for requests
TIMEOUT = 10.0  # seconds a caller waits for the owner to cancel


def data_dir(store: EventStore) -> Path | None:
    """The store's data dir, where request files go (None: a store without files)."""
    root = getattr(store, "root", None)
    return Path(root) if root is not None else None


def request_path(root: Path, run_id: str) -> Path:
    """Where a cancel request for `run_id` is written."""
    return root / REQUESTS / safe_name(run_id, "run id")


def requested(root: Path, run_ids: Collection[str]) -> list[str]:
    """The runs among `run_ids` with a cancel request waiting (one listdir)."""
    try:
        names = os.listdir(root / REQUESTS)
    except FileNotFoundError:
        return []
    return [name for name in names if name in run_ids]


def take_requests(root: Path, run_ids: Collection[str]) -> list[tuple[str, str]]:
    """The (run id, reason) of each pending request among `run_ids`, removed (blocking)."""
    taken = []
    for run_id in requested(root, run_ids):
        path = root / REQUESTS / run_id
        try:
            raw = path.read_bytes()
            path.unlink()
        except FileNotFoundError:
            continue
        try:
            reason = str(orjson.loads(raw).get("reason") or "cancelled")
        except (orjson.JSONDecodeError, AttributeError):
            reason = "cancelled"
        taken.append((run_id, reason))
    return taken


async def cancel_elsewhere(
    store: EventStore, run_id: str, reason: str, timeout: float = TIMEOUT
) -> RunState:
    """Cancel a run the caller does not drive; its state once ended (an ended run as is).

    TimeoutError when its owner did not end it within `timeout` (the request is
    withdrawn); RunLockedError when its owner cannot be reached (a store without files).
    """
    state = await load_state(store, run_id)
    if state.finished:
        return state
    if not await store.has_writer(run_id):
        with contextlib.suppress(RunLockedError):  # taken meanwhile: ask its owner
            return await cancel_unowned(store, run_id, reason)
    root = data_dir(store)
    path = None
    if root is None:  # a store shared without a data dir hands the owner a command
        await store.send_command(run_id, "cancel", {"reason": reason})
    else:
        path = request_path(root, run_id)
        await asyncio.to_thread(write_atomic, path, orjson.dumps({"reason": reason}), False)
    try:
        async with asyncio.timeout(timeout):
            async for _ in store.follow(run_id, state.last_seq):
                pass
    except TimeoutError:
        if path is not None:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return await load_state(store, run_id)


async def cancel_unowned(store: EventStore, run_id: str, reason: str) -> RunState:
    """Take the log of a run nobody drives, append its machine's cancel, let it go.

    RunLockedError when another writer holds the log."""
    return await decide_unowned(store, run_id, lambda m: m.handle(Cancel(run_id, reason)))
