"""Child runs: a graph node runs a registered graph as a run of its own, started (or,
after a resume, found again) and awaited; its end is the node attempt's outcome."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from agentos._exceptions import AgentOSError
from agentos.actors.cancel import cancel_elsewhere
from agentos.eventstore.base import EventStore
from agentos.graphs.load import load_graph
from agentos.graphs.spec import GraphSpec
from agentos.machine.effects import StartChild
from agentos.machine.facts import NodeDone
from agentos.machine.jobs import node_outputs
from agentos.state.load import load_state
from agentos.state.run_state import RunState

log = logging.getLogger(__name__)

#: how deep child runs may nest (a graph that runs itself through others stops here)
MAX_DEPTH = 8

#: a graph's spec by its name, None when no graph has that name
GraphResolver = Callable[[str], GraphSpec | None]


class RunHandle(Protocol):
    """What child runs need of a supervisor of the child's graph."""

    async def start_run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        parent: tuple[str, str] | None = None,
    ) -> str: ...

    async def resume(self, run_id: str) -> str: ...

    async def wait(self, run_id: str, timeout: float | None = None) -> RunState: ...

    async def cancel(self, run_id: str, reason: str = ...) -> RunState: ...

    async def stop(self) -> None: ...


def child_graphs(spec: GraphSpec, find: GraphResolver) -> dict[str, dict[str, Any]]:
    """The specs (as JSON) of the graphs `spec`'s graph nodes run, and theirs, by name;
    a graph `find` does not know is left out (validation reports it)."""
    found: dict[str, dict[str, Any]] = {}
    todo = [spec]
    while todo:
        for node in todo.pop().nodes:
            name = node.graph
            if name is None or name in found:
                continue
            child = find(name)
            if child is not None:
                found[name] = child.model_dump(mode="json")
                todo.append(child)
    return found


def with_recorded(find: GraphResolver, recorded: Mapping[str, dict[str, Any]]) -> GraphResolver:
    """`find`, falling back to the graphs a run recorded (`RunState.graphs`)."""

    def resolve(name: str) -> GraphSpec | None:
        spec = find(name)
        doc = recorded.get(name)
        return spec if spec is not None or doc is None else GraphSpec.model_validate(doc)

    return resolve


def graph_resolver(graphs: GraphResolver | Mapping[str, Any] | None) -> GraphResolver:
    """A resolver from a mapping of graphs (specs, or what `load_graph` takes) by name,
    or a resolver as is."""
    if graphs is None:
        return lambda name: None
    if callable(graphs):
        return graphs
    found = {
        name: load_graph(g) if not isinstance(g, GraphSpec) else g for name, g in graphs.items()
    }
    return found.get


class ChildRuns:
    """The child runs started by one supervisor's runs, through a supervisor per child
    graph (`spawn`), sharing the store."""

    def __init__(
        self,
        resolve: GraphResolver,
        spawn: Callable[[GraphSpec, GraphResolver], RunHandle],
        store: EventStore,
        depth: int = 0,
    ) -> None:
        self.resolve = resolve
        self.spawn = spawn
        self.store = store
        self.depth = depth
        self._handles: dict[str, RunHandle] = {}  # by graph
        self._driving: dict[str, RunHandle] = {}  # by child run, while awaited here
        self._stopping = False

    async def run(self, job: StartChild) -> NodeDone | None:
        """Start the child run (or re-attach to it) and wait for its end: the node's
        output is the child's outputs; a child that did not succeed fails the attempt.
        None when the supervisors stop meanwhile: the child is left to a resume."""
        done = NodeDone(job.run_id, job.node, job.attempt, ok=False)
        try:
            final = await self._run(job)
        except Exception as exc:  # any failure to run the child fails the attempt
            if self._stopping:
                return None
            done.error, done.error_type = str(exc), type(exc).__name__
            return done
        if final.status != "succeeded":
            done.error_type = "ChildRunFailed"
            done.error = f"child run {job.child_run} {final.status}: {final.error or ''}".strip()
            return done
        done.ok, done.output = True, node_outputs(final)
        return done

    async def _run(self, job: StartChild) -> RunState:
        if self.depth >= MAX_DEPTH:
            raise AgentOSError(f"child runs nest deeper than {MAX_DEPTH} (graph {job.graph!r})")
        child = job.child_run
        state = await load_state(self.store, child) if await self.store.exists(child) else None
        # the graph as the parent recorded it, else as the child did, else as registered now
        handle = self._handle(job, state)
        self._driving[child] = handle
        try:
            if state is None:
                await handle.start_run(job.inputs, run_id=child, parent=(job.run_id, job.node))
            elif not state.finished:
                await handle.resume(child)  # after the parent's resume: carry it on
            return await handle.wait(child)
        finally:
            self._driving.pop(child, None)

    def _handle(self, job: StartChild, found: RunState | None) -> RunHandle:
        handle = self._handles.get(job.graph)
        if handle is None:
            doc = job.spec if job.spec is not None else found.spec if found else None
            spec = GraphSpec.model_validate(doc) if doc else self.resolve(job.graph)
            if spec is None:
                raise AgentOSError(f"graph {job.graph!r} is not registered")
            recorded = found.graphs if found is not None else {}
            handle = self._handles[job.graph] = self.spawn(
                spec, with_recorded(self.resolve, recorded)
            )
        return handle

    async def cancel(self, child_runs: tuple[str, ...], reason: str) -> None:
        """Cancel the child runs of a parent that ended, wherever they are driven."""
        for child in child_runs:
            handle = self._driving.get(child)
            try:
                if handle is not None:
                    await handle.cancel(child, reason)
                else:
                    await cancel_elsewhere(self.store, child, reason)
            except (AgentOSError, TimeoutError) as exc:
                log.warning("could not cancel child run %s: %s", child, exc)

    async def stop(self) -> None:
        """Stop the supervisors of the child graphs."""
        self._stopping = True
        handles, self._handles = list(self._handles.values()), {}
        await asyncio.gather(*(h.stop() for h in handles), return_exceptions=True)
