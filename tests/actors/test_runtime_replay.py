"""Replay from a step: a fork that reuses everything upstream and leaves the original alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runtime_shapes import Calls, eight_node_graph

from agentos.eventstore import EventStore, JsonlEventStore
from agentos.state import UnknownStepError, fold, state_hash


async def test_replay_from_a_middle_step(start: Any, store: EventStore, calls: Calls) -> None:
    sup = start(eight_node_graph(params={"sleep": 0.01}))
    original = await sup.run(timeout=10)
    before = list(await store.read_all(original.run_id))
    raw = None
    if isinstance(store, JsonlEventStore):
        raw = (store.log_path(original.run_id)).read_bytes()

    new_id = await sup.replay(original.run_id, "tester")
    replayed = await sup.wait(new_id, timeout=10)
    assert replayed.status == "succeeded"
    assert replayed.replayed_from is not None
    assert replayed.replayed_from.source_run == original.run_id

    # upstream reused, tester and downstream executed again
    ran = {node for (run, node) in calls.counts if run == new_id}
    assert ran == {"tester", "security", "release"}

    new_events = await store.read_all(new_id)
    marker = next(e for e in new_events if e.type == "replayed_from")
    assert [e.seq for e in new_events] == list(range(1, len(new_events) + 1))
    assert state_hash(fold(new_events, upto="tester")) == state_hash(fold(before, upto="tester"))
    assert fold(new_events, upto=marker.seq - 1).nodes["aggregator"].status == "succeeded"

    # the original log is untouched
    assert list(await store.read_all(original.run_id)) == before
    if raw is not None and isinstance(store, JsonlEventStore):
        assert store.log_path(original.run_id).read_bytes() == raw


async def test_replay_from_a_seq(start: Any, store: EventStore) -> None:
    sup = start(eight_node_graph(params={"sleep": 0.01}))
    original = await sup.run(timeout=10)
    events = await store.read_all(original.run_id)
    cut = next(e.seq for e in events if e.type == "node_succeeded" and e.node == "planner")
    new_id = await sup.replay(original.run_id, cut)
    replayed = await sup.wait(new_id, timeout=10)
    assert replayed.status == "succeeded"
    assert state_hash(fold(await store.read_all(new_id), upto=cut)) == state_hash(
        fold(events, upto=cut)
    )


async def test_replay_of_unknown_steps_is_refused(start: Any, store: EventStore) -> None:
    sup = start(eight_node_graph(params={"sleep": 0.0}))
    original = await sup.run(timeout=10)
    runs = await store.list_runs()
    with pytest.raises(UnknownStepError, match="never started step 'nope'"):
        await sup.replay(original.run_id, "nope")
    with pytest.raises(UnknownStepError, match="no seq 999"):
        await sup.replay(original.run_id, 999)
    with pytest.raises(UnknownStepError, match="after the run ended"):
        await sup.replay(original.run_id, original.last_seq)
    assert await store.list_runs() == runs


async def test_resume_of_a_finished_run_does_nothing(start: Any, store: EventStore) -> None:
    sup = start(eight_node_graph(params={"sleep": 0.0}))
    original = await sup.run(timeout=10)
    assert await sup.resume(original.run_id) == original.run_id
    assert len(await store.read_all(original.run_id)) == original.last_seq


async def test_workspace_is_rebuilt_for_a_replay(
    start: Any, store: EventStore, registry: Any, tmp_path: Path
) -> None:
    from agentos.actors import NodeContext

    async def writer(ctx: NodeContext) -> dict[str, Any]:
        assert ctx.workspace is not None
        text = ctx.workspace.read("count.txt")
        ctx.workspace.write("count.txt", str(int(text) + 1))
        return {"count": int(text) + 1}

    registry.register("writer", writer)
    src = tmp_path / "src"
    src.mkdir()
    (src / "count.txt").write_text("0")
    graph = {
        "name": "ws",
        "workspace": "repo",
        "nodes": [
            {"name": "one", "agent": "writer"},
            {"name": "two", "agent": "writer", "after": ["one"]},
        ],
    }
    sup = start(graph)
    original = await sup.run({"repo": str(src)}, timeout=10)
    assert original.nodes["two"].output == {"count": 2}
    assert (src / "count.txt").read_text() == "0"
    new_id = await sup.replay(original.run_id, "two")
    replayed = await sup.wait(new_id, timeout=10)
    assert replayed.nodes["two"].output == {"count": 2}
    assert (sup.workdir / new_id / "workspace" / "count.txt").read_text() == "2"


async def test_a_refused_resume_leaves_the_run_writable(registry: Any, tmp_path: Path) -> None:
    from agentos.actors import Supervisor

    store = JsonlEventStore(tmp_path / "locks", durable=False)
    sup = Supervisor.start(eight_node_graph(params={"sleep": 0.0}), store, agents=registry)
    other = Supervisor.start(
        {"name": "other", "nodes": [{"name": "x", "agent": "sleepy"}]}, store, agents=registry
    )
    try:
        original = await sup.run(timeout=10)
        with pytest.raises(ValueError, match="belongs to graph 'eight'"):
            await other.resume(original.run_id)
        assert await sup.resume(original.run_id) == original.run_id
        assert not await store.has_writer(original.run_id)  # a finished run keeps no lock
    finally:
        await sup.stop()
        await other.stop()
        await store.close()
