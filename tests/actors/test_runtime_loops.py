"""A writer/reviewer loop through the Supervisor, with real agents and stores."""

from __future__ import annotations

from typing import Any

from agentos.actors import Next, NodeContext
from agentos.agents import AgentRegistry
from agentos.eventstore import EventStore
from agentos.state import fold, state_hash


def loop_graph(max_iterations: int, publish: bool = True) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"name": "writer", "agent": "writer"},
        {
            "name": "reviewer",
            "agent": "reviewer",
            "after": ["writer"],
            "loop": {"to": "writer", "max_iterations": max_iterations},
        },
    ]
    if publish:
        nodes.append({"name": "publish", "agent": "publish", "after": ["reviewer"]})
    return {"name": "review", "nodes": nodes}


def register(registry: AgentRegistry, approve_at: int) -> list[Any]:
    """A writer that takes the reviewer's comments, a reviewer that approves draft
    `approve_at`; returns what each writer pass saw of the last review."""
    seen: list[Any] = []

    async def writer(ctx: NodeContext) -> dict[str, Any]:
        review = ctx.outputs.get("reviewer")
        seen.append(review)
        version = 1 if review is None else review["version"] + 1
        return {"version": version, "text": f"draft {version}"}

    async def reviewer(ctx: NodeContext) -> Next:
        version = ctx.outputs["writer"]["version"]
        if version >= approve_at:
            return Next(["publish"], {"version": version, "ok": True})
        return Next(["writer"], {"version": version, "comments": f"fix draft {version}"})

    async def publish(ctx: NodeContext) -> dict[str, Any]:
        return {"published": ctx.outputs["writer"]["text"]}

    for name, fn in (("writer", writer), ("reviewer", reviewer), ("publish", publish)):
        registry.register(name, fn)
    return seen


async def test_the_reviewer_sends_the_draft_back_until_it_approves(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    seen = register(registry, approve_at=3)
    sup = start(loop_graph(max_iterations=3))
    state = await sup.run(timeout=10)
    assert state.status == "succeeded"
    assert state.nodes["publish"].output == {"published": "draft 3"}
    assert seen == [None, {"version": 1, "comments": "fix draft 1"}, seen[2]]
    assert seen[2]["comments"] == "fix draft 2"  # each pass sees the review before it
    assert (state.nodes["writer"].iteration, state.nodes["reviewer"].iteration) == (3, 3)
    events = await store.read_all(state.run_id)
    steps = [f"{e.node}#{e.iteration or 1}" for e in events if e.type == "node_started" and e.node]
    assert steps == [
        "writer#1", "reviewer#1", "writer#2", "reviewer#2", "writer#3", "reviewer#3", "publish#1",
    ]  # fmt: skip
    assert state_hash(fold(events)) == state_hash(state)


async def test_at_the_limit_the_run_fails_with_the_reason(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    register(registry, approve_at=99)
    sup = start(loop_graph(max_iterations=2, publish=False))
    state = await sup.run(timeout=10)
    assert state.status == "failed"
    assert state.error == "loop reviewer -> writer reached max_iterations 2"
    events = await store.read_all(state.run_id)
    assert [e.type for e in events].count("loop_iterated") == 1
    assert [e.type for e in events][-3:] == ["loop_exhausted", "node_succeeded", "run_failed"]


async def test_a_replay_from_the_second_pass_runs_it_again(
    start: Any, store: EventStore, registry: AgentRegistry
) -> None:
    register(registry, approve_at=2)
    sup = start(loop_graph(max_iterations=3))
    first = await sup.run(timeout=10)
    assert first.status == "succeeded"
    fork = await sup.replay(first.run_id, "writer#2")
    state = await sup.wait(fork, timeout=10)
    assert state.status == "succeeded"
    assert state.replayed_from is not None and state.replayed_from.from_step == "writer#2"
    assert state.nodes["publish"].output == {"published": "draft 2"}
