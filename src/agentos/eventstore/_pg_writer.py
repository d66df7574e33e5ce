"""Group commit for the PostgreSQL store: every batch queued meanwhile, one statement."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agentos.events.model import TERMINAL_TYPES
from agentos.eventstore.base import ConcurrencyError, StoreError, StoreWriteError

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Owned:
    """A run this store writes: the epoch it claimed, the last seq it handed out."""

    run_id: str
    epoch: int
    last_seq: int
    create: bool = False  # its row is made by the first batch's commit
    lost: StoreError | None = None  # why it takes no more writes


@dataclass(eq=False)
class Queued:
    """A batch on its way to the database."""

    run: Owned
    expected: int
    create: bool
    rows: list[tuple[int, str]]
    future: concurrent.futures.Future[int]
    loop: asyncio.AbstractEventLoop | None  # where it was submitted: resolved there
    last: int = field(init=False)

    def __post_init__(self) -> None:
        self.last = self.rows[-1][0]


_TERMINAL = tuple(f'"type":"{t}"' for t in sorted(TERMINAL_TYPES))


def ends_run(line: str) -> bool:
    """Whether a stored event line is its run's terminal event."""
    return any(mark in line for mark in _TERMINAL)


#: runs a group on a pooled connection: (params) -> the run ids that moved
Execute = Callable[[dict[str, Any]], Awaitable[list[str]]]
#: gives runs up (owner cleared where this owner still holds them at their epoch)
Free = Callable[[list[Owned]], Awaitable[None]]


class GroupWriter:
    """Takes every batch queued while the last group committed and commits them together.

    Runs as a task on the store's own loop; `put` is called from any thread. A run's
    consecutive batches in one group are merged (one check of owner, epoch and the first
    batch's expected seq); each run's outcome is its own.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        execute: Execute,
        free: Free,
        committed: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._execute = execute
        self._free = free
        self._frees: list[tuple[Owned, concurrent.futures.Future[None]]] = []
        self._committed = committed
        self._lock = threading.Lock()
        self._queue: list[Queued] = []
        self._wake = asyncio.Event()
        self._closed = False
        self.commits = 0  # groups committed (one transaction each)
        self.batches = 0  # batches committed
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writer task (on the store's loop)."""
        self._task = asyncio.create_task(self._run(), name="agentos-pg-writer")

    def put(self, item: Queued) -> None:
        """Queue a batch (any thread)."""
        with self._lock:
            if self._closed:
                raise StoreWriteError("the event store is closed")
            first = not self._queue and not self._frees
            self._queue.append(item)
        if first:
            self._loop.call_soon_threadsafe(self._wake.set)

    def release(self, run: Owned) -> concurrent.futures.Future[None]:
        """Give `run` up with the next group, after every append queued before (any thread)."""
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                done.set_result(None)  # closing gives every run up anyway
                return done
            first = not self._queue and not self._frees
            self._frees.append((run, done))
        if first:
            self._loop.call_soon_threadsafe(self._wake.set)
        return done

    async def close(self) -> None:
        """Commit what is queued, then stop (on the store's loop)."""
        with self._lock:
            self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            with self._lock:
                group, self._queue = self._queue, []
                frees, self._frees = self._frees, []
                closed = self._closed
            if group:
                await self._commit(group)
            if frees:
                await self._release(frees)
            if not group and not frees:
                if closed:  # nothing is queued after closing: all is committed
                    return
                await self._wake.wait()
                self._wake.clear()

    async def _release(self, frees: list[tuple[Owned, concurrent.futures.Future[None]]]) -> None:
        try:
            await self._free([run for run, _ in frees])
        except Exception as exc:  # the run stays claimed until this owner's lock is gone
            log.warning("releasing %d runs failed: %s", len(frees), exc)
        for _, done in frees:
            done.set_result(None)

    async def _commit(self, group: list[Queued]) -> None:
        merged: dict[str, list[Queued]] = {}
        for item in group:
            merged.setdefault(item.run.run_id, []).append(item)
        params: dict[str, Any] = {
            "runs": [],
            "epochs": [],
            "expected": [],
            "last": [],
            "create": [],
            "ends": [],
            "e_runs": [],
            "e_seqs": [],
            "e_events": [],
        }
        for run_id, items in merged.items():
            params["runs"].append(run_id)
            params["epochs"].append(items[0].run.epoch)
            params["expected"].append(items[0].expected)
            params["last"].append(items[-1].last)
            params["create"].append(items[0].create)
            params["ends"].append(ends_run(items[-1].rows[-1][1]))
            for item in items:
                for seq, line in item.rows:
                    params["e_runs"].append(run_id)
                    params["e_seqs"].append(seq)
                    params["e_events"].append(line)
        failure: StoreError | None = None
        moved: set[str] = set()
        try:
            moved = set(await self._execute(params))
        except Exception as exc:  # the database or the connection: nothing of it stored
            log.warning("append group failed: %s", exc)
            failure = StoreWriteError(f"the append was not stored: {exc}")
        self.commits += 1
        outcomes: dict[asyncio.AbstractEventLoop | None, list[tuple[Queued, StoreError | None]]]
        outcomes = {}
        for run_id, items in merged.items():
            error = failure
            if error is None and run_id not in moved:
                error = ConcurrencyError(
                    f"run {run_id}: the append was refused: the run is owned by another "
                    "writer now (a newer epoch) or its log moved on"
                )
            if error is not None and items[0].run.lost is None:
                items[0].run.lost = error  # a later batch of it cannot follow now
            for item in items:
                outcomes.setdefault(item.loop, []).append((item, error))
        self.batches += len(group)
        for loop, results in outcomes.items():
            if loop is not None and loop is not self._loop:
                try:
                    loop.call_soon_threadsafe(self._resolve, results)
                    continue
                except RuntimeError:  # that loop is closed: resolve here
                    pass
            self._resolve(results)

    def _resolve(self, results: list[tuple[Queued, StoreError | None]]) -> None:
        for item, error in results:
            if error is None:
                item.future.set_result(item.last)
            else:
                item.future.set_exception(error)
        self._committed()
