"""Node concurrency limits that hold across every member of a PostgreSQL store.

`SharedSlots` is the concurrency table of one supervisor of a member: an attempt of a
limited node runs only on a permit (`eventstore/pg_permits.py`) that this table holds
and no other attempt here uses. The machine asks synchronously; a refused attempt waits
as with `NodeSlots`, while the table asks the database for permits, one task per permit
its waiters lack, and wakes the supervisor when one comes. A slot released while an
attempt waits here keeps its permit, unless another member said it waits for one of
that node (then every member's waiting attempt asks again: no member keeps a busy node
to itself); otherwise the permit goes back to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

from agentos.eventstore.pg_permits import acquire, freed_key, release, want, wanted_key
from agentos.eventstore.postgres import PostgresEventStore
from agentos.machine.facts import RetryDue
from agentos.machine.slots import NodeSlots

log = logging.getLogger(__name__)

#: seconds between asks for a permit when no notification said one was given back
POLL = 0.25


class SharedSlots(NodeSlots):
    """The slots of graph `graph` on this member, backed by permits in `store`.

    Every call comes from the supervisor's loop (the machine's handlers and this
    table's tasks run there), so the table needs no lock."""

    def __init__(self, store: PostgresEventStore, graph: str) -> None:
        super().__init__()
        self.store = store
        self.graph = graph
        self.holder = f"{os.getpid()}-{secrets.token_hex(4)}"  # this table, for operators
        self._limits: dict[str, int] = {}
        self._held: dict[str, list[int]] = defaultdict(list)  # permit slots held, per node
        self._asking: dict[str, int] = defaultdict(int)  # acquire tasks under way, per node
        self._tasks: set[asyncio.Task[None]] = set()
        self._wanted: dict[str, asyncio.Event] = {}  # set when another member waits, per node
        self._watches = contextlib.ExitStack()
        self._wake: Callable[[str], None] = lambda node: None
        self._closed = False

    def bind(self, wake: Callable[[str], None]) -> None:
        self._wake = wake

    def take(self, node: str, limit: int | None) -> bool:
        if limit is None:
            return super().take(node, None)
        if node not in self._wanted:
            self._wanted[node] = self._watches.enter_context(
                self.store.wakeups(wanted_key(self.graph, node))
            )
        self._limits[node] = limit
        if self._running[node] < min(len(self._held[node]), limit):
            self._running[node] += 1
            return True
        return False

    def wait(self, node: str, due: RetryDue) -> None:
        super().wait(node, due)
        if node in self._limits:
            self._ask(node)

    def release(self, node: str) -> bool:
        if node not in self._limits:
            return super().release(node)
        if self._running[node] > 0:
            self._running[node] -= 1
        wanted = self._wanted[node]
        if self._waiting[node] and not wanted.is_set():
            return True  # the permit stays here for the attempt that waits longest
        if self._waiting[node]:  # others wait too: give it back, and ask after them
            wanted.clear()
            self._give_back(node)
            self._ask(node, defer=True)
        self._trim(node)
        return False

    def forget(self, run_id: str) -> None:
        super().forget(run_id)
        for node in list(self._limits):
            self._trim(node)

    def close(self) -> None:
        """Stop asking for permits; those held go back with the member's (`drop_own`)."""
        self._closed = True
        self._watches.close()
        for task in list(self._tasks):
            task.cancel()

    # the database side, off the machine's call

    def _short(self, node: str) -> int:
        """How many more permits the attempts waiting for `node` could use now than this
        table holds spare or is asking for."""
        running = self._running[node]
        spare = len(self._held[node]) - running
        could_run = min(len(self._waiting[node]), self._limits[node] - running)
        return could_run - spare - self._asking[node]

    def _trim(self, node: str) -> None:
        """Give back the permits no attempt here uses or waits for."""
        while len(self._held[node]) - self._running[node] > len(self._waiting[node]):
            self._give_back(node)

    def _give_back(self, node: str) -> None:
        slot = self._held[node].pop()
        self._spawn(release(self.store, self.graph, node, slot, self.holder))

    def _ask(self, node: str, defer: bool = False) -> None:
        """Start one acquire per permit the waiters of `node` lack (`defer`: the first
        ask after one poll, so the member that said it waits asks first)."""
        for _ in range(self._short(node)):
            self._asking[node] += 1
            self._spawn(self._acquire(node, defer))

    async def _acquire(self, node: str, defer: bool = False) -> None:
        """Ask for one permit of `node` until one is had or no waiter needs it."""
        slot: int | None = None
        try:
            if defer:
                await asyncio.sleep(POLL)
            with self.store.wakeups(freed_key(self.graph, node)) as freed:
                # still short counting this task: the waiters need its permit
                while not self._closed and self._short(node) + 1 > 0:
                    freed.clear()
                    try:
                        slot = await acquire(
                            self.store, self.graph, node, self._limits[node], self.holder
                        )
                        if slot is None:
                            await want(self.store, self.graph, node)
                    except Exception as exc:  # the database is away: ask again later
                        log.warning("no permit for %s.%s yet: %s", self.graph, node, exc)
                        slot = None
                    if slot is not None:
                        self._held[node].append(slot)
                        break
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(POLL):
                            await freed.wait()
        finally:
            self._asking[node] -= 1
        if slot is None:
            return
        if self._waiting[node]:
            self._wake(node)
        else:
            self._trim(node)  # its waiters are gone (their runs ended)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("permits of %s: %s", self.graph, task.exception())
