"""`drain` waits for the runs that calls under way are handing the supervisor: a supervisor
retired (drained, then stopped) while a `start_run` is between its checks and its
`StartRun` neither refuses that run nor leaves it running in its log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentos.actors import NodeContext, Supervisor
from agentos.agents import AgentRegistry
from agentos.eventstore import InMemoryEventStore
from agentos.state.fold import fold


class HeldStore(InMemoryEventStore):
    """A memory store whose `exists` (start_run's first await) waits until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.go = asyncio.Event()

    async def exists(self, run_id: str) -> bool:
        self.entered.set()
        await self.go.wait()
        return await super().exists(run_id)


async def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def _registry() -> AgentRegistry:
    reg = AgentRegistry()

    async def work(ctx: NodeContext) -> dict[str, Any]:
        return {"node": ctx.node}

    reg.register("work", work)
    return reg


GRAPH = {
    "name": "held",
    "nodes": [{"name": "a", "agent": "work"}, {"name": "b", "agent": "work", "after": ["a"]}],
}


async def test_a_retired_supervisor_finishes_the_run_it_was_being_handed(tmp_path: Path) -> None:
    store = HeldStore()
    sup = Supervisor.start(GRAPH, store, agents=_registry(), workdir=tmp_path)

    async def retire() -> None:  # what the server does when the catalog changes
        await sup.drain()
        await sup.stop()

    try:
        starting = asyncio.create_task(sup.start_run(run_id="run-handed-over"))
        await store.entered.wait()  # checked, not yet handed over
        retiring = asyncio.create_task(retire())
        calls = getattr(sup, "in_flight", None)  # the drain waits on the calls under way
        await _until(lambda: retiring.done() or bool(calls and calls._waiters))
        store.go.set()

        run_id = await asyncio.wait_for(starting, 10)
        await asyncio.wait_for(retiring, 10)
        state = fold(await store.read_all(run_id))
        assert state.status == "succeeded"
    finally:
        store.go.set()
        await sup.stop()


async def test_drain_returns_at_once_when_nothing_is_under_way(tmp_path: Path) -> None:
    store = InMemoryEventStore()
    sup = Supervisor.start(GRAPH, store, agents=_registry(), workdir=tmp_path)
    try:
        await asyncio.wait_for(sup.drain(), 5)
        run_id = await sup.start_run()
        await asyncio.wait_for(sup.drain(), 10)
        assert (await sup.state(run_id)).status == "succeeded"
    finally:
        await sup.stop()
