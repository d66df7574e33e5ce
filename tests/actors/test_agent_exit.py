"""No agent can stop the engine: sys.exit or KeyboardInterrupt in agent code, on the loop
or in the thread pool, is a failed attempt, and every other run on the loop carries on."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentos.actors import NodeContext, Supervisor
from agentos.actors._loop import LoopThread
from agentos.agents import AgentRegistry
from agentos.eventstore import InMemoryEventStore

RAISED = {"SystemExit": "agent quits", "KeyboardInterrupt": "agent interrupted"}


def _raise(kind: str) -> None:
    if kind == "SystemExit":
        sys.exit(RAISED[kind])
    raise KeyboardInterrupt(RAISED[kind])


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


@pytest.fixture
def released() -> threading.Event:
    return threading.Event()


@pytest.fixture
def registry(released: threading.Event) -> AgentRegistry:
    reg = AgentRegistry()

    async def quits(ctx: NodeContext) -> None:
        _raise(ctx.params["raise"])

    def quits_blocking(ctx: NodeContext) -> None:
        _raise(ctx.params["raise"])

    async def patient(ctx: NodeContext) -> dict[str, Any]:
        while not released.is_set():  # runs on while the other graph's agent exits
            await asyncio.sleep(0.01)
        return {"node": ctx.node}

    async def quits_later(ctx: NodeContext) -> dict[str, Any]:
        async def background() -> None:
            _raise(ctx.params["raise"])

        asyncio.get_running_loop().create_task(background())  # outside the attempt
        return {"node": ctx.node}

    reg.register("quits", quits)
    reg.register("quits_later", quits_later)
    reg.register("quits_blocking", quits_blocking)
    reg.register("patient", patient)
    return reg


def _graph(name: str, agent: str, **node: Any) -> dict[str, Any]:
    return {"name": name, "nodes": [{"name": "only", "agent": agent, **node}]}


@pytest.mark.parametrize("agent", ["quits", "quits_blocking"])
@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt"])
@pytest.mark.parametrize("timeout", [None, 5.0])  # with a timeout, wait_for runs its own task
async def test_an_exiting_agent_fails_its_attempt_and_nothing_else(
    loop_thread: LoopThread,
    registry: AgentRegistry,
    released: threading.Event,
    tmp_path: Path,
    agent: str,
    kind: str,
    timeout: float | None,
) -> None:
    store = InMemoryEventStore()
    policy = {"timeout": timeout} if timeout else {}
    bad_graph = _graph("bad", agent, params={"raise": kind}, policy=policy)
    loop = loop_thread.loop
    good = Supervisor.start(_graph("good", "patient"), store, agents=registry, loop=loop)
    bad = Supervisor.start(bad_graph, store, agents=registry, loop=loop, workdir=tmp_path)
    try:
        waiting = await good.start_run()
        state = await bad.run(timeout=10)
        assert state.status == "failed"
        failed = [e for e in await store.read_all(state.run_id) if e.type == "node_failed"]
        errors = [(e.data.error_type, e.data.error) for e in failed]  # type: ignore[attr-defined]
        assert errors == [(kind, f"{kind}: {RAISED[kind]}")]

        released.set()
        assert (await good.wait(waiting, timeout=10)).status == "succeeded"
        assert (await good.run(timeout=10)).status == "succeeded"
        again = await bad.run(timeout=10)  # the supervisor of the failing graph still works
        assert again.status == "failed"
    finally:
        released.set()
        await good.stop()
        await bad.stop()


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt"])
async def test_a_task_an_agent_left_behind_cannot_stop_the_loop(
    loop_thread: LoopThread,
    registry: AgentRegistry,
    released: threading.Event,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = InMemoryEventStore()
    graph = _graph("leaves", "quits_later", params={"raise": kind})
    sup = Supervisor.start(graph, store, agents=registry, loop=loop_thread.loop)
    try:
        for _ in range(3):
            assert (await sup.run(timeout=10)).status == "succeeded"
        assert any(kind in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    finally:
        await sup.stop()
