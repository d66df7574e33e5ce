"""The server's runtime: one event store, the catalog, and one supervisor per graph."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agentos._exceptions import InvalidEventError
from agentos.actors._loop import LoopThread
from agentos.actors.stall import RunStalledError
from agentos.actors.supervisor import Supervisor
from agentos.actors.supervisor_actor import Listener
from agentos.agents.registry import AgentRegistry, default_registry
from agentos.api._log_stamps import log_stamp, rewritten
from agentos.api.queued_runs import queue_run, with_workspace
from agentos.api.stalls import stalled_view
from agentos.cluster.member import Member
from agentos.eventstore.base import CorruptLogError, EventStore, StoreError, UnknownRunError
from agentos.eventstore.jsonl import JsonlEventStore
from agentos.eventstore.postgres import PostgresEventStore
from agentos.graphs.catalog import catalog_for
from agentos.graphs.policy import Budget
from agentos.graphs.spec import GraphSpec
from agentos.routing.pool import ProviderPool
from agentos.routing.what_if import WhatIf
from agentos.state.fold import Folding
from agentos.state.run_state import RunState

log = logging.getLogger(__name__)


def from_cwd(source: str) -> Path:
    """A relative workspace source, resolved against the server's current directory."""
    return Path(source).expanduser().resolve()


class Runtime:
    """Starts supervisors lazily, one per graph, on one loop thread of their own.

    The supervisors and their agents run on that loop; the server's loop only serves
    requests, so a burst of runs does not stall the API and a slow request does not
    stall the runs.
    """

    def __init__(
        self,
        data_dir: Path,
        agents: AgentRegistry | None = None,
        durable: bool | None = None,
        *,
        resolve_source: Callable[[str], Path] = from_cwd,
        store: EventStore | Callable[[], EventStore] | None = None,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.data_dir = data_dir
        self.listeners = list(listeners)  # told of every acknowledged batch of every run
        self.agents = agents if agents is not None else default_registry
        self.resolve_source = resolve_source
        # `store`: a store, or a factory called here (default: the JSONL store of data_dir)
        if store is None:
            self.store: EventStore = JsonlEventStore(data_dir, durable=durable)
        else:
            self.store = store if isinstance(store, EventStore) else store()
        self.catalog = catalog_for(data_dir, self.agents, self.store)  # the store's, if shared
        self._supervisors: dict[str, Supervisor] = {}
        self._retired: list[Supervisor] = []
        self._retiring: set[asyncio.Task[None]] = set()
        self._folds: dict[str, Folding] = {}  # per run, fed as its log grows
        self._fold_locks: dict[str, asyncio.Lock] = {}
        self._stamps: dict[str, tuple[int, int, int] | None] = {}  # each kept fold's log
        self._loop: LoopThread | None = None
        self._stalls: dict[str, RunStalledError] = {}  # runs whose append failed, until resumed
        self._watchers: dict[str, asyncio.Task[RunStalledError | None]] = {}
        self.member: Member | None = None  # set by `start_member` (a shared store)
        self._member_run: concurrent.futures.Future[None] | None = None

    def supervisor(self, graph: str) -> Supervisor:
        """The supervisor of `graph`; UnknownGraphError for an unknown graph."""
        sup = self._supervisors.get(graph)
        if sup is None:
            spec = self.catalog.resolved(graph)
            if self._loop is None:
                self._loop = LoopThread()
            sup = Supervisor.start(
                spec,
                self.store,
                agents=self.agents,
                pool=self.catalog.pool,
                loop=self._loop.loop,
                listeners=self.listeners,
                graphs=self._registered,
            )
            self._supervisors[graph] = sup
        return sup

    def _registered(self, name: str) -> GraphSpec | None:
        """A registered graph, for the `graph:` nodes of runs driven here."""
        return self.catalog.find(name)

    async def refresh(self) -> None:
        """See registrations other processes made on a shared store; supervisors of
        graphs whose catalog changed retire. The routes call it once per request."""
        if await self.catalog.refresh():
            self.invalidate()

    def invalidate(self, graph: str | None = None) -> None:
        """Retire supervisors whose graph, policies or pool changed; new runs get fresh ones.

        A retired supervisor finishes the runs it drives, then stops (its threads end).
        """
        names = [graph] if graph is not None else list(self._supervisors)
        for name in names:
            sup = self._supervisors.pop(name, None)
            if sup is not None:
                self._retired.append(sup)
                task = asyncio.get_running_loop().create_task(self._retire(sup))
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)

    async def _retire(self, sup: Supervisor) -> None:
        await sup.drain()
        if sup in self._retired:
            self._retired.remove(sup)
            await sup.stop()

    async def start_run(
        self, graph: str, inputs: Mapping[str, Any], budget: Budget | None = None
    ) -> str:
        """Start a run of `graph` in the background; returns its id once it is durable.

        A member of a shared store queues it instead: whichever member has room first
        starts it (this one, usually; see `queued_runs.queue_run`)."""
        if self.member is not None:
            assert isinstance(self.store, PostgresEventStore)
            spec = self.catalog.resolved(graph)
            given = with_workspace(spec, inputs, self.resolve_source)
            return await queue_run(self.store, spec, given, budget)
        sup = self.supervisor(graph)
        run_id = await sup.start_run(
            with_workspace(sup.spec, inputs, self.resolve_source), budget=budget
        )
        self._watch(sup, run_id)
        return run_id

    def start_member(self, capacity: int, on_queued: Callable[[int], None] | None = None) -> None:
        """Be a member of the shared store: drive queued and orphaned runs, up to
        `capacity` at once, on the runtime's loop thread."""
        assert isinstance(self.store, PostgresEventStore)
        if self._loop is None:
            self._loop = LoopThread()
        self.member = Member(
            self.store,
            self.agents,
            capacity=capacity,
            router=self.catalog.router,
            graphs=self._registered,
            listeners=self.listeners,
            on_queued=on_queued,
        )
        self._member_run = asyncio.run_coroutine_threadsafe(self._membership(), self._loop.loop)

    async def _membership(self) -> None:
        assert self.member is not None
        with self.catalog.watching():  # its `graph:` nodes see other members' graphs
            await self.member.run()

    async def resume(self, run_id: str) -> RunState:
        """Carry on a stalled or interrupted run; RunStalledError if it stalls at once."""
        state = await self.state(run_id)
        if state.finished:
            return state
        sup = self.supervisor(state.graph)
        try:
            await sup.resume(run_id)
        except RunStalledError as exc:
            self._stalls[run_id] = exc
            raise
        self._stalls.pop(run_id, None)
        self._watch(sup, run_id)
        return await self.state(run_id)

    def stall_watch(self, run_id: str) -> asyncio.Future[RunStalledError | None] | None:
        """What a follower of the run waits on besides its events: its stall, or None
        once it ended; None when this server does not drive the run."""
        watcher = self._watchers.get(run_id)
        if watcher is not None:
            return watcher
        stall = self._stalls.get(run_id)
        if stall is None:
            return None
        known: asyncio.Future[RunStalledError | None] = asyncio.get_running_loop().create_future()
        known.set_result(stall)
        return known

    def _watch(self, sup: Supervisor, run_id: str) -> None:
        """Note the run's stall, if its append fails, until a resume."""
        task = asyncio.get_running_loop().create_task(self._watch_run(sup, run_id))
        self._watchers[run_id] = task

        def done(_: asyncio.Task[RunStalledError | None]) -> None:
            if self._watchers.get(run_id) is task:
                del self._watchers[run_id]

        task.add_done_callback(done)

    async def _watch_run(self, sup: Supervisor, run_id: str) -> RunStalledError | None:
        try:
            await sup.wait(run_id)
        except RunStalledError as exc:
            self._stalls[run_id] = exc
            return exc
        except Exception:  # the supervisor stopped: the run stays resumable, not stalled
            return None
        return None

    async def replay(
        self,
        run_id: str,
        from_step: int | str,
        what_if: WhatIf | None = None,
        pool: ProviderPool | None = None,
    ) -> str:
        """Fork a replay of `run_id` from a step with the supervisor of its graph; with
        `pool` (a what-if), with a supervisor of its own that routes through that pool
        and stops once the replay has ended."""
        state = await self.state(run_id)
        if pool is None:
            return await self.supervisor(state.graph).replay(run_id, from_step, what_if)
        if self._loop is None:
            self._loop = LoopThread()
        sup = Supervisor.start(
            self.catalog.resolved(state.graph),
            self.store,
            agents=self.agents,
            pool=pool,
            loop=self._loop.loop,
            listeners=self.listeners,
            graphs=self._registered,
        )
        self._retired.append(sup)  # drives this replay only
        try:
            return await sup.replay(run_id, from_step, what_if or WhatIf())
        finally:
            task = asyncio.get_running_loop().create_task(self._retire(sup))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def state(self, run_id: str) -> RunState:
        """The run's state folded from its log (UnknownRunError when it has none,
        CorruptLogError when a line before its end is bad or of another run).

        Each run's fold is kept and fed only the events appended since the last call, so
        polling a long or busy run does not fold its whole log again; a log changed
        behind its fold's back (an ended run's, or a shrunk or replaced one) is read again.
        """
        folding = self._folds.get(run_id)
        kept = self._stamps.get(run_id)
        unchanged = folding is not None and log_stamp(self.store, run_id) == kept
        if folding is not None and folding.state.finished and unchanged:
            return folding.state
        lock = self._fold_locks.setdefault(run_id, asyncio.Lock())
        async with lock:  # two requests must not feed the same events twice
            stamp = log_stamp(self.store, run_id)
            folding = self._folds.pop(run_id, None)  # kept again once fed without error
            if folding is None or rewritten(self._stamps.get(run_id), stamp, folding.state):
                folding = Folding()
            async for event in self.store.read(run_id, after_seq=folding.state.last_seq):
                folding.feed(event)
            if not folding.state.run_id:
                raise UnknownRunError(f"unknown run {run_id!r}")
            self._folds[run_id] = folding
            self._stamps[run_id] = stamp
        if folding.state.finished:
            self._fold_locks.pop(run_id, None)
        elif run_id in self._stalls:
            return stalled_view(folding.state, self._stalls[run_id])
        return folding.state

    async def states(self) -> list[RunState]:
        """Every readable run's state, newest first (see `listing` for the others)."""
        return [s for s in await self.listing() if isinstance(s, RunState)]

    async def listing(self) -> list[RunState | CorruptRun]:
        """Every run, newest first: its state, or why its log cannot be read.

        A log without one acknowledged event (its first batch torn) is no run: left out.
        """
        runs: list[RunState | CorruptRun] = []
        for run_id in await self.store.list_runs():
            try:
                runs.append(await self.state(run_id))
            except CorruptLogError as exc:
                log.warning("corrupt log of run %s: %s", run_id, exc)
                prefix = await self._prefix(run_id)
                runs.append(CorruptRun(run_id, exc.describe(self.data_dir), prefix))
            except (StoreError, InvalidEventError) as exc:
                log.info("not listing run %s: %s", run_id, exc)
        runs.sort(key=_newest_first, reverse=True)
        return runs

    async def _prefix(self, run_id: str) -> RunState:
        """What the events before a corrupt log's bad line fold to."""
        folding = Folding()
        with contextlib.suppress(StoreError, InvalidEventError):
            async for event in self.store.read(run_id):
                folding.feed(event)
        return folding.state

    async def resume_unfinished(self) -> list[str]:
        """Resume every run a previous process left without a terminal event."""
        resumed = []
        for state in await self.states():
            if state.finished:
                continue
            try:
                await self.supervisor(state.graph).resume(state.run_id)
            except Exception as exc:  # one broken run must not keep the server down
                log.warning("cannot resume run %s: %s", state.run_id, exc)
            else:
                self._watch(self.supervisor(state.graph), state.run_id)
                resumed.append(state.run_id)
        return resumed

    async def stop(self) -> None:
        """Stop every supervisor and close the store; unfinished runs stay resumable."""
        if self.member is not None and self._loop is not None and self._member_run is not None:
            self._loop.loop.call_soon_threadsafe(self.member.stop)
            await asyncio.wrap_future(self._member_run)
        for task in [*self._retiring, *self._watchers.values()]:
            task.cancel()
        await asyncio.gather(*self._retiring, *self._watchers.values(), return_exceptions=True)
        for sup in [*self._supervisors.values(), *self._retired]:
            await sup.stop()
        self._supervisors.clear()
        self._retired.clear()
        await self.store.close()
        if self._loop is not None:
            await asyncio.to_thread(self._loop.stop)
            self._loop = None


@dataclass(frozen=True)
class CorruptRun:
    """A run whose log cannot be read, listed with status `corrupt`."""

    run_id: str
    error: str  # the file (relative to the data dir), the line and what is wrong
    prefix: RunState  # the fold of the events before the bad line

    @property
    def status(self) -> str:
        return "corrupt"


def _newest_first(run: RunState | CorruptRun) -> tuple[bool, datetime | None, str]:
    state = run.prefix if isinstance(run, CorruptRun) else run
    return state.created_at is not None, state.created_at, run.run_id
