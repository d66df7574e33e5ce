"""Cancel: async agents stop at once; a thread agent sees `ctx.cancelled`, does not hold
the run, and its late result is ignored (logged, nothing appended after run_cancelled)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentos.actors import NodeContext, Supervisor
from agentos.agents import AgentRegistry
from agentos.eventstore import EventStore


class Seen:
    """What the test agents saw, shared with the test thread."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()  # lets the stubborn thread agent return
        self.stopped = threading.Event()  # the async agent got CancelledError
        self.flag_seen = threading.Event()  # the polite thread agent saw ctx.cancelled
        self.returned = threading.Event()  # the stubborn thread agent returned


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def registry(seen: Seen) -> AgentRegistry:
    reg = AgentRegistry()

    async def hang(ctx: NodeContext) -> dict[str, Any]:
        seen.started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.stopped.set()
            raise
        return {}

    def stubborn(ctx: NodeContext) -> dict[str, Any]:
        seen.started.set()
        seen.release.wait(30)  # a 30 s sleep, unless the test lets it go sooner
        seen.returned.set()
        return {"late": True}

    def polite(ctx: NodeContext) -> dict[str, Any]:
        seen.started.set()
        deadline = time.monotonic() + 30
        while not ctx.cancelled and time.monotonic() < deadline:
            time.sleep(0.005)
        if ctx.cancelled:
            seen.flag_seen.set()
        return {}

    for name, fn in [("hang", hang), ("stubborn", stubborn), ("polite", polite)]:
        reg.register(name, fn)
    return reg


@pytest.fixture
async def sup(store: EventStore, registry: AgentRegistry, tmp_path: Path) -> AsyncIterator[Any]:
    made: list[Supervisor] = []

    def make(agent: str) -> Supervisor:
        graph = {"name": f"g-{agent}", "nodes": [{"name": "a", "agent": agent}]}
        made.append(Supervisor.start(graph, store, agents=registry, workdir=tmp_path / "w"))
        return made[-1]

    yield make
    for s in made:
        await s.stop()
    await store.close()


async def _started(seen: Seen) -> None:
    assert await asyncio.to_thread(seen.started.wait, 5), "the agent never started"


async def test_an_async_agent_is_cancelled_at_once(sup: Any, seen: Seen, store: EventStore) -> None:
    s: Supervisor = sup("hang")
    run_id = await s.start_run()
    await _started(seen)
    began = time.perf_counter()
    state = await s.cancel(run_id, "stop it")
    assert state.status == "cancelled"
    assert await asyncio.to_thread(seen.stopped.wait, 1)
    assert time.perf_counter() - began < 1
    types = [e.type for e in await store.read_all(run_id)]
    assert types[-2:] == ["node_cancelled", "run_cancelled"]


async def test_a_thread_agent_does_not_hold_the_run_and_its_late_result_is_ignored(
    sup: Any, seen: Seen, store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agentos")
    s: Supervisor = sup("stubborn")
    run_id = await s.start_run()
    await _started(seen)
    began = time.perf_counter()
    state = await s.cancel(run_id)
    assert (await s.wait(run_id, timeout=1)).status == "cancelled"
    assert time.perf_counter() - began < 1
    assert state.status == "cancelled" and not seen.returned.is_set()  # still sleeping
    events = await store.read_all(run_id)

    seen.release.set()  # the thread returns now, long after the run ended

    def late_logged() -> bool:
        return any(getattr(r, "late_result", None) == "ignored" for r in caplog.records)

    deadline = time.monotonic() + 5
    while not late_logged() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    (record,) = [r for r in caplog.records if getattr(r, "late_result", None) == "ignored"]
    assert (record.run_id, record.node, record.attempt, record.outcome) == (run_id, "a", 1, "ok")
    assert await store.read_all(run_id) == events  # nothing appended after run_cancelled
    assert events[-1].type == "run_cancelled"


async def test_a_thread_agent_sees_ctx_cancelled(sup: Any, seen: Seen) -> None:
    s: Supervisor = sup("polite")
    run_id = await s.start_run()
    await _started(seen)
    assert (await s.cancel(run_id)).status == "cancelled"
    assert await asyncio.to_thread(seen.flag_seen.wait, 2)


def test_a_context_is_not_cancelled_until_its_attempt_is() -> None:
    ctx = NodeContext("r", "a", 1, {}, {}, {}, {})
    assert ctx.cancelled is False
