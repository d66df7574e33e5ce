"""Fixtures for runtime tests: a registry of test agents, stores, and supervisors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from runtime_shapes import Calls

from agentos.actors import NodeContext, Supervisor
from agentos.agents import AgentRegistry
from agentos.eventstore import EventStore, InMemoryEventStore, JsonlEventStore


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def registry(calls: Calls) -> AgentRegistry:
    reg = AgentRegistry()

    async def sleepy(ctx: NodeContext) -> dict[str, Any]:
        calls.hit(ctx)
        await asyncio.sleep(ctx.params.get("sleep", 0.03))
        return {"node": ctx.node, "upstream": sorted(ctx.upstream)}

    def blocking(ctx: NodeContext) -> dict[str, Any]:
        import time

        calls.hit(ctx)
        time.sleep(ctx.params.get("sleep", 0.05))
        return {"node": ctx.node}

    async def flaky(ctx: NodeContext) -> dict[str, Any]:
        n = calls.hit(ctx)
        if n < ctx.params.get("succeed_on", 3):
            raise RuntimeError(f"flaky failure {n}")
        return {"attempt": ctx.attempt}

    async def hang(ctx: NodeContext) -> dict[str, Any]:
        calls.hit(ctx)
        await asyncio.sleep(30)
        return {}

    async def boom(ctx: NodeContext) -> dict[str, Any]:
        calls.hit(ctx)
        raise ValueError("boom")

    async def judge(ctx: NodeContext) -> dict[str, Any]:
        calls.hit(ctx)
        return {"seen": {k: v["status"] for k, v in ctx.upstream.items()}}

    for name, fn in [
        ("sleepy", sleepy),
        ("blocking", blocking),
        ("flaky", flaky),
        ("hang", hang),
        ("boom", boom),
        ("judge", judge),
    ]:
        reg.register(name, fn)
    return reg


@pytest.fixture(params=["memory", "jsonl"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> EventStore:
    if request.param == "memory":
        return InMemoryEventStore()
    return JsonlEventStore(tmp_path / "data", durable=False)


@pytest.fixture
async def start(store: EventStore, registry: AgentRegistry, tmp_path: Path) -> AsyncIterator[Any]:
    started: list[Supervisor] = []

    def make(graph: Any, **kw: Any) -> Supervisor:
        sup = Supervisor.start(graph, store, agents=registry, workdir=tmp_path / "work", **kw)
        started.append(sup)
        return sup

    yield make
    for sup in started:
        await sup.stop()
    await store.close()
