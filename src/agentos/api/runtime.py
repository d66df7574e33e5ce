"""The server's runtime: one event store, the catalog, and one supervisor per graph."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentos.actors._loop import LoopThread
from agentos.actors.supervisor import Supervisor
from agentos.agents.registry import AgentRegistry
from agentos.eventstore.base import StoreError, UnknownRunError
from agentos.eventstore.jsonl import JsonlEventStore
from agentos.graphs.catalog import Catalog
from agentos.graphs.policy import Budget
from agentos.state.fold import Folding
from agentos.state.run_state import RunState

log = logging.getLogger(__name__)


def demo_registry() -> AgentRegistry:
    """The registry of the demo agents (import paths resolve through it too)."""
    from agentos.demo import registry

    return registry


class Runtime:
    """Starts supervisors lazily, one per graph, on one loop thread of their own.

    The supervisors and their agents run on that loop; the server's loop only serves
    requests, so a burst of runs does not stall the API and a slow request does not
    stall the runs.
    """

    def __init__(
        self, data_dir: Path, agents: AgentRegistry | None = None, durable: bool | None = None
    ) -> None:
        self.data_dir = data_dir
        self.agents = agents if agents is not None else demo_registry()
        self.store = JsonlEventStore(data_dir, durable=durable)
        self.catalog = Catalog(data_dir, self.agents)
        self._supervisors: dict[str, Supervisor] = {}
        self._retired: list[Supervisor] = []
        self._retiring: set[asyncio.Task[None]] = set()
        self._folds: dict[str, Folding] = {}  # per run, fed as its log grows
        self._fold_locks: dict[str, asyncio.Lock] = {}
        self._loop: LoopThread | None = None

    def supervisor(self, graph: str) -> Supervisor:
        """The supervisor of `graph`; KeyError for an unknown graph."""
        sup = self._supervisors.get(graph)
        if sup is None:
            spec = self.catalog.resolved(graph)
            if self._loop is None:
                self._loop = LoopThread()
            sup = Supervisor.start(
                spec, self.store, agents=self.agents, pool=self.catalog.pool, loop=self._loop.loop
            )
            self._supervisors[graph] = sup
        return sup

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
        """Start a run of `graph` in the background; returns its id once it is durable."""
        sup = self.supervisor(graph)
        return await sup.start_run(_with_workspace(sup, inputs), budget=budget)

    async def replay(self, run_id: str, from_step: int | str) -> str:
        """Fork a replay of `run_id` from a step with the supervisor of its graph."""
        state = await self.state(run_id)
        return await self.supervisor(state.graph).replay(run_id, from_step)

    async def state(self, run_id: str) -> RunState:
        """The run's state folded from its log (UnknownRunError when it has none).

        Each run's fold is kept and fed only the events appended since the last call, so
        polling a long or busy run does not fold its whole log again.
        """
        folding = self._folds.get(run_id)
        if folding is not None and folding.state.finished:
            return folding.state
        lock = self._fold_locks.setdefault(run_id, asyncio.Lock())
        async with lock:  # two requests must not feed the same events twice
            folding = self._folds.get(run_id) or Folding()
            async for event in self.store.read(run_id, after_seq=folding.state.last_seq):
                folding.feed(event)
            if not folding.state.run_id:
                raise UnknownRunError(f"unknown run {run_id!r}")
            self._folds[run_id] = folding
        if folding.state.finished:
            self._fold_locks.pop(run_id, None)
        return folding.state

    async def states(self) -> list[RunState]:
        """Every run's state, newest first; unreadable logs are left out (and logged)."""
        states = []
        for run_id in await self.store.list_runs():
            try:
                states.append(await self.state(run_id))
            except (StoreError, ValueError) as exc:
                log.warning("cannot read run %s: %s", run_id, exc)
        states.sort(key=lambda s: (s.created_at is not None, s.created_at, s.run_id), reverse=True)
        return states

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
                resumed.append(state.run_id)
        return resumed

    async def stop(self) -> None:
        """Stop every supervisor and close the store; unfinished runs stay resumable."""
        for task in self._retiring:
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        for sup in [*self._supervisors.values(), *self._retired]:
            await sup.stop()
        self._supervisors.clear()
        self._retired.clear()
        await self.store.close()
        if self._loop is not None:
            await asyncio.to_thread(self._loop.stop)
            self._loop = None


def _with_workspace(sup: Supervisor, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs with the workspace source made absolute (the demo repo by default)."""
    from agentos.demo.graph import DEFAULT_REPO, resolve_repo

    merged = dict(inputs)
    key = sup.spec.workspace
    if key is None:
        return merged
    value = merged.get(key, sup.spec.inputs.get(key))
    if isinstance(value, str) and value and not Path(value).is_absolute():
        merged[key] = str(resolve_repo(None if value == DEFAULT_REPO else value))
    return merged
