"""Sub-graphs: a `graph:` node runs a registered graph as a child run with its own log."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentos.actors import NodeContext, Supervisor
from agentos.agents import AgentRegistry
from agentos.eventstore import EventStore
from agentos.graphs import GraphValidationError, load_graph
from agentos.state import fold, state_hash

CHILD = {
    "name": "notify-team",
    "nodes": [
        {"name": "compose", "agent": "compose"},
        {"name": "send", "agent": "send", "after": ["compose"]},
    ],
}


def parent(child_policy: dict[str, Any] | None = None) -> dict[str, Any]:
    notify: dict[str, Any] = {
        "name": "notify",
        "graph": "notify-team",
        "after": ["publish"],
        "params": {"channel": "#team"},
    }
    if child_policy:
        notify["policy"] = child_policy
    return {
        "name": "report",
        "nodes": [{"name": "publish", "agent": "publish"}, notify],
    }


def register(registry: AgentRegistry, send: Any = None) -> None:
    async def publish(ctx: NodeContext) -> dict[str, Any]:
        return {"url": "https://example.test/report"}

    async def compose(ctx: NodeContext) -> dict[str, Any]:
        return {"text": f"report ready for {ctx.inputs['channel']} ({ctx.inputs['topic']})"}

    async def default_send(ctx: NodeContext) -> dict[str, Any]:
        return {"sent": ctx.outputs["compose"]["text"]}

    registry.register("publish", publish)
    registry.register("compose", compose)
    registry.register("send", send or default_send)


async def test_the_child_runs_in_its_own_log_linked_both_ways(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    register(registry)
    sup = start(parent(), graphs={"notify-team": load_graph(CHILD)})
    state = await sup.run({"topic": "tides"}, timeout=10)
    assert state.status == "succeeded", state.error
    child_id = state.nodes["notify"].child_run
    assert child_id == f"{state.run_id}.notify"
    text = "report ready for #team (tides)"
    assert state.nodes["notify"].output == {
        "compose": {"text": text},
        "send": {"sent": text},
    }
    child = fold(await store.read_all(child_id))
    assert child.status == "succeeded" and child.graph == "notify-team"
    assert child.parent is not None
    assert (child.parent.run_id, child.parent.node) == (state.run_id, "notify")
    events = await store.read_all(state.run_id)
    started = [e for e in events if e.type == "child_started"]
    assert [(e.node, e.data.child_run, e.data.graph) for e in started] == [
        ("notify", child_id, "notify-team")
    ]
    assert state_hash(fold(events)) == state_hash(state)


async def test_a_failed_child_fails_the_node_with_its_reason(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    async def broken(ctx: NodeContext) -> dict[str, Any]:
        raise RuntimeError("smtp down")

    register(registry, send=broken)
    sup = start(
        parent({"retry": {"max_attempts": 2, "initial_interval": 0}}), graphs={"notify-team": CHILD}
    )
    state = await sup.run({"topic": "t"}, timeout=10)
    assert state.status == "failed"
    assert "child run" in (state.error or "") and "smtp down" in (state.error or "")
    # a retry is a new child run, the first one stays as it ended
    first, second = f"{state.run_id}.notify", f"{state.run_id}.notify.try2"
    assert state.nodes["notify"].child_run == second
    assert fold(await store.read_all(first)).status == "failed"
    assert fold(await store.read_all(second)).status == "failed"


async def test_cancel_cascades_to_the_child(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    entered = asyncio.Event()

    async def slow(ctx: NodeContext) -> dict[str, Any]:
        entered.set()
        await asyncio.sleep(30)
        return {}

    register(registry, send=slow)
    sup = start(parent(), graphs={"notify-team": CHILD})
    run_id = await sup.start_run({"topic": "t"})
    async with asyncio.timeout(10):
        await entered.wait()
    await sup.cancel(run_id)
    child_id = f"{run_id}.notify"
    async with asyncio.timeout(10):
        while not fold(await store.read_all(child_id)).finished:
            await asyncio.sleep(0.01)
    assert fold(await store.read_all(child_id)).status == "cancelled"
    assert (await sup.wait(run_id, timeout=10)).status == "cancelled"


def test_a_graph_node_must_name_a_graph_it_was_given(
    store: EventStore, registry: AgentRegistry
) -> None:
    register(registry)
    with pytest.raises(GraphValidationError, match="not registered"):
        Supervisor.start(parent(), store, agents=registry, graphs={})


async def test_resume_of_the_parent_carries_the_child_on(
    store: EventStore, registry: AgentRegistry, tmp_path: Any
) -> None:
    entered = asyncio.Event()
    calls: list[str] = []

    async def send(ctx: NodeContext) -> dict[str, Any]:
        calls.append(ctx.run_id)
        if len(calls) == 1:  # the first process stops while this waits
            entered.set()
            await asyncio.sleep(30)
        return {"sent": True}

    register(registry, send=send)
    kw: dict[str, Any] = {"agents": registry, "workdir": tmp_path, "graphs": {"notify-team": CHILD}}
    first = Supervisor.start(parent(), store, **kw)
    run_id = await first.start_run({"topic": "t"})
    async with asyncio.timeout(10):
        await entered.wait()
    await first.stop()  # as a crash would leave it: both runs unfinished in their logs
    child_id = f"{run_id}.notify"
    assert not fold(await store.read_all(child_id)).finished
    second = Supervisor.start(parent(), store, **kw)
    try:
        await second.resume(run_id)
        state = await second.wait(run_id, timeout=10)
    finally:
        await second.stop()
    assert state.status == "succeeded", state.error
    assert state.nodes["notify"].child_run == child_id  # the same child, re-attached
    assert calls == [child_id, child_id]
    child = fold(await store.read_all(child_id))
    assert child.status == "succeeded"
    assert not await store.exists(f"{run_id}.notify.try2")
