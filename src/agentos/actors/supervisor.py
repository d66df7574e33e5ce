"""`Supervisor.start(graph)`: the public handle on a supervisor actor and its runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import pykka

from agentos._exceptions import InvalidInputError, RunExistsError
from agentos._names import safe_name
from agentos.actors._inflight import InFlight, counted
from agentos.actors._loop import LoopThread
from agentos.actors._loop_actor import stop_actor
from agentos.actors._workspaces import carried_over, new_workspace
from agentos.actors.cancel import TIMEOUT, cancel_elsewhere
from agentos.actors.children import ChildRuns, GraphResolver, child_graphs, graph_resolver
from agentos.actors.messages import ContinueRun, GetState, ListLive, Reply, WaitRun
from agentos.actors.replay import fork_events
from agentos.actors.signals import send_signal, signal_payload
from agentos.actors.supervisor_actor import Listener, SupervisorActor
from agentos.actors.sync import SyncSupervisor
from agentos.agents.registry import AgentRegistry, default_registry
from agentos.context.profile import ContextProfile
from agentos.events.model import Envelope
from agentos.eventstore.base import EventStore, UnknownRunError
from agentos.eventstore.jsonl import JsonlEventStore
from agentos.eventstore.run_log import RunLog
from agentos.graphs.load import load_graph
from agentos.graphs.policy import Budget, Policy
from agentos.graphs.spec import GraphSpec, resolve
from agentos.graphs.validate import check
from agentos.machine.facts import Cancel, Signal, Start
from agentos.machine.slots import NodeSlots
from agentos.routing.pool import ProviderPool, default_pool
from agentos.routing.router import Router
from agentos.routing.what_if import WhatIf
from agentos.state.fold import fold
from agentos.state.load import load_state
from agentos.state.run_state import RunState


def new_run_id() -> str:
    """A fresh, sortable run id such as run-20261125093000-1a2b3c4d5e6f."""
    return f"run-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(6)}"


class Supervisor:
    """Starts, waits for, cancels, resumes and replays runs of one graph.

    Its methods are coroutines that never block the event loop; `sync` offers the same
    methods, blocking, for scripts. Stop it (or use it as a context manager) when done.
    """

    def __init__(
        self,
        ref: pykka.ActorRef[Any],
        spec: GraphSpec,
        store: EventStore,
        loop: asyncio.AbstractEventLoop,
        workdir: Path,
        executor: concurrent.futures.ThreadPoolExecutor,
        loop_thread: LoopThread | None,
        owns_store: bool,
    ) -> None:
        self.spec = spec
        self.store = store
        self.loop = loop
        self.workdir = workdir
        self._ref = ref
        self._executor = executor
        self._loop_thread = loop_thread
        self._owns_store = owns_store
        self._stopped = False
        self.children: ChildRuns | None = None
        self.child_graphs: dict[str, dict[str, Any]] = {}  # recorded in each run_created
        self.router: Router | None = None  # the router its node actors call models through
        self.owns_router = False  # made by `start` (not given): closed by `stop`
        self.in_flight = InFlight()  # start_run, resume, replay under way: `drain` waits for them
        self.sync = SyncSupervisor(self)

    @classmethod
    def start(
        cls,
        graph: GraphSpec | str | Path | Mapping[str, Any],
        store: EventStore | None = None,
        *,
        agents: AgentRegistry | None = None,
        policies: Mapping[str, Policy] | None = None,
        profiles: Mapping[str, ContextProfile] | None = None,
        pool: ProviderPool | None = None,
        router: Router | None = None,
        workdir: str | Path | None = None,
        listeners: Sequence[Listener] = (),
        loop: asyncio.AbstractEventLoop | None = None,
        max_workers: int = 16,
        graphs: GraphResolver | Mapping[str, Any] | None = None,
        depth: int = 0,
        slots: Callable[[GraphSpec], NodeSlots] | None = None,
    ) -> Supervisor:
        """Validate the graph and start its supervisor actor, as pykka's `start` does.

        The default store is the JSONL store under `AGENTOS_DATA_DIR` (./data). Agents run
        on `loop`, else on the running loop, else on a private loop thread. `graphs` are
        the graphs its `graph:` nodes may run as child runs (by name); `depth` counts the
        parents of those. `slots` makes each graph's concurrency table (default: one
        of its own per supervisor).
        """
        spec = graph if isinstance(graph, GraphSpec) else load_graph(graph)
        agents = agents or default_registry
        spec = resolve(spec, policies or {}, profiles or {})
        find = graph_resolver(graphs)
        found = {g: child for n in spec.nodes if (g := n.graph) and (child := find(g))}
        check(spec, agents=agents, graphs=found)
        owns_store = store is None
        store = store if store is not None else JsonlEventStore()
        loop_thread = None
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop_thread = LoopThread()
                loop = loop_thread.loop
        if workdir is None:
            root = getattr(store, "root", None)
            workdir = root if root is not None else tempfile.mkdtemp(prefix="agentos-")
        executor = concurrent.futures.ThreadPoolExecutor(max_workers, "agentos-agent")
        owns_router = router is None
        router = router or Router(pool or default_pool())
        kids = ChildRuns(
            find,
            lambda child, known: cls.start(
                child, store, agents=agents, policies=policies, profiles=profiles,
                router=router, workdir=workdir, listeners=listeners, loop=loop, graphs=known,
                depth=depth + 1, slots=slots,
            ),
            store,
            depth,
        )  # fmt: skip
        table = slots(spec) if slots is not None else None
        ref = SupervisorActor.start(
            spec, agents, store, router, loop, executor, listeners, kids, table
        )
        sup = cls(ref, spec, store, loop, Path(workdir), executor, loop_thread, owns_store)
        sup.children, sup.child_graphs = kids, child_graphs(spec, find)
        sup.router, sup.owns_router = router, owns_router
        return sup

    # runs

    @counted
    async def start_run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        parent: tuple[str, str] | None = None,
    ) -> str:
        """Create a run and start it; returns its id once `run_created` is durable.
        `parent` is the (run, node) whose child run it is."""
        merged = {**self.spec.inputs, **(inputs or {})}
        try:
            merged = orjson.loads(orjson.dumps(merged))
        except TypeError as exc:
            raise InvalidInputError(f"run inputs must be JSON: {exc}") from None
        limits = _budget(budget) or (self.spec.budget.model_dump() if self.spec.budget else None)
        if run_id is not None and await self.store.exists(safe_name(run_id, "run id")):
            raise RunExistsError(f"run {run_id} already exists")
        # a fresh id needs no look-up: the first append expects an empty log anyway
        run_id = run_id or new_run_id()
        workspace = None
        if self.spec.workspace:
            key = self.spec.workspace
            workspace = await new_workspace(self.store, self.workdir, key, run_id, merged)
        # no `prepare`: the first append creates the new log (a few metadata calls)
        graphs = self.child_graphs or None
        result: str = await self._ask(
            lambda r: Start(run_id, merged, limits, workspace, r, parent, graphs)
        )
        return result

    async def wait(self, run_id: str, timeout: float | None = None) -> RunState:
        """The run's final state, once it has ended (also for runs of other processes)."""
        async with asyncio.timeout(timeout):
            return await self._wait(run_id)

    async def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        budget: Budget | Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> RunState:
        """Start a run and wait for its end."""
        started = await self.start_run(inputs, run_id=run_id, budget=budget)
        return await self.wait(started, timeout)

    async def state(self, run_id: str) -> RunState:
        """The run's current state: the live state if it runs here, else the fold of its log."""
        live: RunState | None = await self._ask(lambda r: GetState(run_id, r))
        return live if live is not None else await load_state(self.store, run_id)

    async def cancel(
        self, run_id: str, reason: str = "cancelled by the user", timeout: float = TIMEOUT
    ) -> RunState:
        """Cancel a running run: running nodes are stopped and nothing new starts; its
        state after. An ended run is left as it is.

        A run driven elsewhere (another supervisor or process) is cancelled through its
        owner, or taken over if it has none (`actors/cancel.py`): TimeoutError if its
        owner did not end it within `timeout` seconds."""
        if run_id in await self.live_runs():
            await self._ask(lambda r: Cancel(run_id, reason, r))
            return await self.state(run_id)
        return await cancel_elsewhere(self.store, run_id, reason, timeout)

    async def signal(self, run_id: str, name: str, data: Any = None) -> RunState:
        """Send the signal `name` (a JSON object) to the run; its state after.

        A run driven here takes it at once if a node waits for it, else keeps it; for a
        run nobody drives it is recorded in the log and taken when the run resumes; a run
        another process drives gets it from that process (`signals.send_signal`).
        RunEndedError once it ended; TimeoutError if the driving process did not take it.
        """
        payload = signal_payload(data)
        safe_name(name, "signal name")
        if await self._ask(lambda r: Signal(run_id, name, payload, r)):
            return await self.state(run_id)
        return await send_signal(self.store, run_id, name, payload)

    @counted
    async def resume(self, run_id: str) -> str:
        """Carry on an interrupted run from its log; what succeeded is not run again."""
        if not await self.store.exists(safe_name(run_id, "run id")):
            raise UnknownRunError(f"unknown run {run_id!r}")
        log = await RunLog.open(self.store, run_id)  # no other writer from here
        try:
            events = await self.store.read_all(run_id)
            state = fold(events)
            self._check_graph(run_id, state)
            if state.finished:
                await log.release()
                return run_id
            return await self._continue(log, state, events)
        except BaseException:
            if run_id not in await self.live_runs():
                await log.release()  # nothing drives it: let others write it
            raise

    @counted
    async def replay(self, run_id: str, from_step: int | str, what_if: WhatIf | None = None) -> str:
        """Fork a new run from a step of `run_id` and execute it; returns the new run's id.

        The fork's copied events are the new run's first append, by its supervisor. Its
        model calls use the models the original recorded, unless `what_if` says otherwise
        (docs/providers.md)."""
        source = await self.store.read_all(run_id)
        new_id = new_run_id()
        if what_if is not None and self.router is not None:
            self.router.what_if[new_id] = what_if
        events = fork_events(source, from_step, new_id)
        state = fold(events)
        self._check_graph(run_id, state)
        for name in [state.workspace_base, *state.artifacts]:
            if name is not None:
                doc = await self.store.get_artifact(run_id, name)
                await self.store.put_artifact(new_id, name, doc)
        return await self._continue(RunLog.new(self.store, new_id), state, events, fork=True)

    async def live_runs(self) -> list[str]:
        """The ids of the runs this supervisor is driving now."""
        ids: list[str] = await self._ask(ListLive)
        return ids

    async def drain(self) -> None:
        """Wait until every run this supervisor drives has ended, those that calls under
        way (`start_run`, `resume`, `replay`) are handing it included."""
        while True:
            await self.in_flight.idle()
            ids = await self.live_runs()
            if not ids and not self.in_flight.busy:
                return
            await asyncio.gather(*(self.wait(i) for i in ids), return_exceptions=True)

    def events(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Envelope]:
        """The run's events after `after_seq`, then new ones live, until the run ends."""
        return self.store.follow(run_id, after_seq)

    # lifecycle

    async def stop(self) -> None:
        """Stop the actors; unfinished runs stay in their logs, ready to resume."""
        await asyncio.to_thread(self._stop_actors)
        if self.children is not None:  # after its own: no child's end reaches its runs
            await self.children.stop()
        if self.owns_router and self.router is not None:  # on the loop its calls ran on
            await asyncio.wrap_future(self._on_loop(self.router.aclose()))
        if self._owns_store:
            await self.store.close()
        if self._loop_thread is not None:
            await asyncio.to_thread(self._loop_thread.stop)

    def stop_blocking(self) -> None:
        """`stop`, for a caller off the supervisor's loop: returns once all is stopped."""
        self._stop_actors()
        if self.children is not None and self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self.children.stop(), self.loop).result()
        if self.owns_router and self.router is not None:
            self._on_loop(self.router.aclose()).result()
        if self._owns_store:
            coro = self.store.close()
            if self.loop.is_running():
                asyncio.run_coroutine_threadsafe(coro, self.loop).result()
            else:
                asyncio.run(coro)
        if self._loop_thread is not None:
            self._loop_thread.stop()

    def _on_loop(self, coro: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        """Run `coro` on the supervisor's loop (closed at once if that loop has stopped)."""
        if self.loop.is_running() and not self.loop.is_closed():
            return asyncio.run_coroutine_threadsafe(coro, self.loop)
        coro.close()
        done: concurrent.futures.Future[None] = concurrent.futures.Future()
        done.set_result(None)
        return done

    def _stop_actors(self) -> None:
        if not self._stopped:
            self._stopped = True
            stop_actor(self._ref)
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> Supervisor:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.sync.stop()

    # internals

    async def _ask(self, make: Callable[[Reply], Any]) -> Any:
        if asyncio.get_running_loop() is self.loop:  # the actor answers on this thread
            here: asyncio.Future[Any] = self.loop.create_future()
            self._ref.tell(make(here))
            return await here
        reply: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._ref.tell(make(reply))
        return await asyncio.wrap_future(reply)

    async def _wait(self, run_id: str) -> RunState:
        live: RunState | None = await self._ask(lambda r: WaitRun(run_id, r))
        if live is not None:
            return live
        state = await load_state(self.store, run_id)
        if not state.finished:
            async for _ in self.store.follow(run_id, state.last_seq):
                pass
            state = await load_state(self.store, run_id)
        return state

    async def _continue(
        self, log: RunLog, state: RunState, events: Sequence[Envelope], fork: bool = False
    ) -> str:
        root, artifacts = await carried_over(self.store, self.workdir, log.run_id, state, events)
        copied = list(events) if fork else []
        reply: str = await self._ask(lambda r: ContinueRun(state, log, root, artifacts, r, copied))
        return reply

    def _check_graph(self, run_id: str, state: RunState) -> None:
        if state.graph != self.spec.name:
            raise InvalidInputError(
                f"run {run_id} belongs to graph {state.graph!r}, not {self.spec.name!r}: "
                "use a supervisor of that graph"
            )


def _budget(budget: Budget | Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if budget is None else Budget.model_validate(budget).model_dump()
