"""Map nodes through the Supervisor: one instance per item of a list decided at run time."""

from __future__ import annotations

import asyncio
from typing import Any

from agentos.actors import NodeContext
from agentos.agents import AgentRegistry
from agentos.eventstore import EventStore
from agentos.state import fold, state_hash


def map_graph(*, max_parallel: int | None = None, on_failure: str | None = None) -> dict[str, Any]:
    researcher: dict[str, Any] = {
        "name": "researcher",
        "agent": "researcher",
        "after": ["planner"],
        "map": "planner.questions",
    }
    if max_parallel is not None:
        researcher["max_parallel"] = max_parallel
    if on_failure is not None:
        researcher["policy"] = {"on_failure": on_failure}
    return {
        "name": "research",
        "nodes": [
            {"name": "planner", "agent": "planner"},
            researcher,
            {"name": "writer", "agent": "writer", "after": ["researcher"]},
        ],
    }


class Seen:
    def __init__(self) -> None:
        self.items: list[tuple[str, Any, int | None]] = []
        self.running = 0
        self.most = 0
        self.writer: Any = None


def register(registry: AgentRegistry, questions: Any, fail: frozenset[int] = frozenset()) -> Seen:
    seen = Seen()

    async def planner(ctx: NodeContext) -> dict[str, Any]:
        return {"questions": questions}

    async def researcher(ctx: NodeContext) -> dict[str, Any]:
        seen.items.append((ctx.node, ctx.item, ctx.index))
        seen.running += 1
        seen.most = max(seen.most, seen.running)
        try:
            await asyncio.sleep(0.01 * (3 - (ctx.index or 0) % 3))  # finish out of order
            if ctx.index in fail:
                raise RuntimeError(f"no answer for {ctx.item}")
            return {"answer": f"about {ctx.item}"}
        finally:
            seen.running -= 1

    async def writer(ctx: NodeContext) -> dict[str, Any]:
        seen.writer = ctx.outputs["researcher"]
        return {"sections": len(ctx.outputs["researcher"])}

    for name, fn in (("planner", planner), ("researcher", researcher), ("writer", writer)):
        registry.register(name, fn)
    return seen


async def test_one_instance_per_item_joined_in_item_order(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    seen = register(registry, ["a", "b", "c", "d", "e"])
    state = await start(map_graph(max_parallel=2)).run(timeout=10)
    assert state.status == "succeeded"
    assert sorted(seen.items) == [(f"researcher[{i}]", q, i) for i, q in enumerate("abcde")]
    assert seen.most == 2  # max_parallel caps the instances running at once
    assert seen.writer == [{"answer": f"about {q}"} for q in "abcde"]
    assert state.nodes["researcher"].instances == 5
    assert state.nodes["researcher[3]"].output == {"answer": "about d"}
    events = await store.read_all(state.run_id)
    expanded = [e for e in events if e.type == "map_expanded"]
    assert [(e.node, e.data.model_dump()) for e in expanded] == [
        ("researcher", {"source": "planner.questions", "items": list("abcde")})
    ]
    assert state_hash(fold(events)) == state_hash(state)
    for seq in range(1, len(events) + 1):  # every prefix folds (no event unknown to evolve)
        fold(events, upto=seq)


async def test_an_empty_list_skips_the_map_and_its_join_sees_nothing(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    seen = register(registry, [])
    state = await start(map_graph()).run(timeout=10)
    assert state.status == "succeeded"
    assert state.nodes["researcher"].status == "skipped"
    assert "empty list" in (state.nodes["researcher"].skip_reason or "")
    assert seen.items == [] and state.nodes["writer"].status == "skipped"


async def test_a_source_that_is_not_a_list_fails_the_run_with_the_reason(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    register(registry, {"not": "a list"})
    state = await start(map_graph()).run(timeout=10)
    assert state.status == "failed"
    assert state.error == "node researcher failed: map planner.questions: expected a list, got dict"


async def test_a_failed_instance_fails_the_run_by_default(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    register(registry, ["a", "b", "c"], fail={1})
    state = await start(map_graph()).run(timeout=10)
    assert state.status == "failed"
    assert state.error == "node researcher[1] failed: RuntimeError: no answer for b"
    assert state.nodes["writer"].status == "pending"


async def test_continue_marks_the_failed_items_for_the_join(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    seen = register(registry, ["a", "b", "c"], fail={1})
    state = await start(map_graph(on_failure="continue")).run(timeout=10)
    assert state.status == "succeeded"
    assert seen.writer == [
        {"answer": "about a"},
        {"failed": True, "index": 1, "error": "RuntimeError: no answer for b"},
        {"answer": "about c"},
    ]
    assert state.nodes["researcher"].output == {"items": seen.writer, "failed": [1]}


async def test_replay_from_an_instance_reuses_the_instances_before_it(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    seen = register(registry, ["a", "b", "c"])
    sup = start(map_graph(max_parallel=1))  # one at a time: [0] ends before [1] starts
    original = await sup.run(timeout=10)
    seen.items.clear()
    new_id = await sup.replay(original.run_id, "researcher[1]")
    replayed = await sup.wait(new_id, timeout=10)
    assert replayed.status == "succeeded"
    assert [node for node, _, _ in seen.items] == ["researcher[1]", "researcher[2]"]
    assert seen.writer == [{"answer": f"about {q}"} for q in "abc"]
    events = await store.read_all(new_id)
    assert state_hash(fold(events)) == state_hash(replayed)


async def test_a_run_cut_mid_map_resumes_the_instances_that_did_not_finish(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    seen = register(registry, ["a", "b", "c", "d"])
    sup = start(map_graph(max_parallel=2))
    original = await sup.run(timeout=10)
    events = await store.read_all(original.run_id)
    # the log as a crash would leave it: [0] and [1] started, [0] succeeded, nothing more
    done0 = next(e.seq for e in events if e.type == "node_succeeded" and e.node == "researcher[0]")
    cut = [e for e in events if e.seq <= done0]
    assert {e.node for e in cut if e.type == "node_started"} >= {"researcher[0]", "researcher[1]"}
    await store.append("cut-run", [e.model_copy(update={"run_id": "cut-run"}) for e in cut], 0)
    seen.items.clear()
    await sup.resume("cut-run")
    state = await sup.wait("cut-run", timeout=10)
    assert state.status == "succeeded"
    finished = {e.node for e in cut if e.type == "node_succeeded"}
    started = {e.node for e in cut if e.type == "node_started"}
    ran = {node for node, _, _ in seen.items}
    assert "researcher[0]" in finished and started - finished
    assert ran == {f"researcher[{i}]" for i in range(4)} - finished  # the rest is reused
    assert seen.writer == [{"answer": f"about {q}"} for q in "abcd"]
    resumed = await store.read_all("cut-run")
    retried = {e.node for e in resumed if e.type == "node_retrying"}
    assert retried == started - finished  # the interrupted ones, recorded as such
    assert state_hash(fold(resumed)) == state_hash(state)
