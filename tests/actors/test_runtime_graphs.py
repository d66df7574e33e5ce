"""The runtime on real graphs: overlap, retries, timeouts, failures, conditions, cancel."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from runtime_shapes import EIGHT, Calls, eight_node_graph

from agentos.actors import Next, NodeContext
from agentos.agents import AgentRegistry
from agentos.eventstore import EventStore
from agentos.graphs import GraphValidationError
from agentos.state import fold, state_hash


async def test_fan_out_branches_overlap_in_the_log(start: Any, store: EventStore) -> None:
    sup = start(eight_node_graph())
    state = await sup.run({"pr": 1}, timeout=10)
    assert state.status == "succeeded"
    events = await store.read_all(state.run_id)
    seq = {(e.type, e.node): e.seq for e in events}
    branches = ["py_fixer", "fe_fixer", "test_writer"]
    last_start = max(seq[("node_started", b)] for b in branches)
    first_end = min(seq[("node_succeeded", b)] for b in branches)
    assert last_start < first_end
    assert seq[("node_started", "aggregator")] > max(seq[("node_succeeded", b)] for b in branches)
    assert state.nodes["aggregator"].output == {
        "node": "aggregator",
        "upstream": ["fe_fixer", "py_fixer", "test_writer"],
    }
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert state_hash(fold(events)) == state_hash(state)


async def test_blocking_agents_do_not_stall_each_other(start: Any, store: EventStore) -> None:
    sup = start(eight_node_graph("blocking", params={"sleep": 0.2}))
    state = await sup.run(timeout=10)
    assert state.status == "succeeded"
    events = await store.read_all(state.run_id)
    starts = [e.seq for e in events if e.type == "node_started" and e.node in EIGHT[1:4]]
    ends = [e.seq for e in events if e.type == "node_succeeded" and e.node in EIGHT[1:4]]
    assert max(starts) < min(ends)


def _one(agent: str, policy: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"name": "only", "agent": agent, **extra}
    if policy is not None:
        node["policy"] = policy
    return {"name": "one", "nodes": [node]}


async def test_flaky_agent_succeeds_on_third_attempt(start: Any, store: EventStore) -> None:
    fast = {"max_attempts": 3, "initial_interval": 0.01, "max_interval": 0.05}
    sup = start(_one("flaky", {"retry": fast}))
    state = await sup.run(timeout=10)
    assert state.status == "succeeded"
    assert state.nodes["only"].attempts == 3
    assert state.nodes["only"].output == {"attempt": 3}
    types = [e.type for e in await store.read_all(state.run_id)]
    assert types.count("node_retrying") == 2
    assert types.count("node_failed") == 2


async def test_flaky_agent_fails_run_with_two_attempts(start: Any, store: EventStore) -> None:
    fast = {"max_attempts": 2, "initial_interval": 0.01, "max_interval": 0.05}
    sup = start(_one("flaky", {"retry": fast}))
    state = await sup.run(timeout=10)
    assert state.status == "failed"
    assert "flaky failure 2" in (state.error or "")
    assert state.nodes["only"].status == "failed"
    assert state.nodes["only"].attempts == 2


async def test_timeout_fails_the_attempt(start: Any, calls: Calls) -> None:
    sup = start(_one("hang", {"timeout": 0.1}))
    state = await sup.run(timeout=10)
    assert state.status == "failed"
    assert "timed out after 0.1s" in (state.nodes["only"].error or "")


async def test_continue_on_failure_lets_the_join_decide(start: Any) -> None:
    graph = {
        "name": "join",
        "nodes": [
            {"name": "a", "agent": "sleepy"},
            {"name": "bad", "agent": "boom", "after": ["a"], "policy": {"on_failure": "continue"}},
            {"name": "good", "agent": "sleepy", "after": ["a"]},
            {"name": "join", "agent": "judge", "after": ["bad", "good"]},
        ],
    }
    sup = start(graph)
    state = await sup.run(timeout=10)
    assert state.status == "succeeded"
    assert state.nodes["bad"].status == "failed"
    assert state.nodes["join"].output == {"seen": {"bad": "failed", "good": "succeeded"}}


async def test_conditional_edges_skip_what_can_no_longer_run(
    start: Any, registry: AgentRegistry
) -> None:
    async def chooser(ctx: NodeContext) -> Next:
        return Next(["left"], {"chose": "left"})

    registry.register("chooser", chooser)
    graph = {
        "name": "cond",
        "nodes": [
            {"name": "choose", "agent": "chooser"},
            {"name": "left", "agent": "sleepy", "after": ["choose"]},
            {"name": "right", "agent": "sleepy", "after": ["choose"]},
            {"name": "right_2", "agent": "sleepy", "after": ["right"]},
            {"name": "end", "agent": "judge", "after": ["left", "right_2"]},
        ],
    }
    sup = start(graph)
    state = await sup.run(timeout=10)
    assert state.status == "succeeded"
    assert state.nodes["right"].status == "skipped"
    assert state.nodes["right"].skip_reason == "not chosen by choose"
    assert state.nodes["right_2"].status == "skipped"
    assert state.nodes["end"].output == {"seen": {"left": "succeeded", "right_2": "skipped"}}


async def test_choosing_a_non_successor_fails_the_node(start: Any, registry: AgentRegistry) -> None:
    async def wrong(ctx: NodeContext) -> Next:
        return Next(["nowhere"])

    registry.register("wrong", wrong)
    sup = start({"name": "w", "nodes": [{"name": "a", "agent": "wrong"}]})
    state = await sup.run(timeout=10)
    assert state.status == "failed"
    assert "not successors" in (state.nodes["a"].error or "")


async def test_cancel_stops_running_nodes(start: Any, store: EventStore, calls: Calls) -> None:
    sup = start(eight_node_graph("hang"))
    run_id = await sup.start_run()
    for _ in range(100):
        if calls.counts:
            break
        await asyncio.sleep(0.01)
    state = await sup.cancel(run_id)
    assert state.status == "cancelled"
    assert state.nodes["planner"].status == "cancelled"
    assert state.nodes["release"].status == "pending"
    assert (await sup.wait(run_id, timeout=5)).status == "cancelled"
    assert [e.type for e in await store.read_all(run_id)][-1] == "run_cancelled"


async def test_live_state_equals_fold_after_every_batch(
    store: EventStore, registry: AgentRegistry, start: Any
) -> None:
    mismatches: list[int] = []
    logs: dict[str, list[Any]] = {}

    def check(events: Any, state: Any) -> None:
        log = logs.setdefault(state.run_id, [])
        log.extend(events)
        if state_hash(fold(log)) != state_hash(state) or fold(log).last_seq != state.last_seq:
            mismatches.append(events[-1].seq)

    sup = start(eight_node_graph(), listeners=[check])
    state = await sup.run(timeout=10)
    assert state.status == "succeeded"
    assert len(logs[state.run_id]) == state.last_seq
    assert mismatches == []


async def test_bad_graph_never_starts(start: Any, store: EventStore) -> None:
    bad = {
        "name": "bad",
        "nodes": [
            {"name": "a", "agent": "sleepy", "after": ["b"]},
            {"name": "b", "agent": "sleepy", "after": ["a"]},
            {"name": "c", "agent": "missing-agent"},
        ],
    }
    with pytest.raises(GraphValidationError) as info:
        start(bad)
    text = str(info.value)
    assert "cycle" in text and "missing-agent" in text
    assert await store.list_runs() == []


async def test_threads_stay_bounded_with_many_runs(start: Any) -> None:
    sup = start(eight_node_graph(params={"sleep": 0.01}))
    before = threading.active_count()
    ids = await asyncio.gather(*(sup.start_run({"i": i}) for i in range(100)))
    peak = threading.active_count()
    states = await asyncio.gather(*(sup.wait(i, timeout=30) for i in ids))
    assert {s.status for s in states} == {"succeeded"}
    assert peak - before < 20


async def test_sync_api_from_a_script(registry: AgentRegistry, store: EventStore) -> None:
    from agentos.actors import Supervisor

    def script() -> str:
        sup = Supervisor.start(eight_node_graph(), store, agents=registry)
        try:
            return sup.sync.run(timeout=10).status
        finally:
            sup.sync.stop()

    assert await asyncio.to_thread(script) == "succeeded"


async def test_sync_api_refuses_on_the_loop(start: Any) -> None:
    sup = start(eight_node_graph())
    with pytest.raises(RuntimeError, match="async API"):
        sup.sync.run()


async def test_an_existing_run_id_is_refused(start: Any, store: EventStore) -> None:
    sup = start(eight_node_graph(params={"sleep": 0.0}))
    first = await sup.run(run_id="run-fixed", timeout=10)
    with pytest.raises(ValueError, match="already exists"):
        await sup.start_run(run_id="run-fixed")
    with pytest.raises(ValueError, match="invalid run id"):
        await sup.start_run(run_id="../escape")
    assert len(await store.read_all("run-fixed")) == first.last_seq


async def test_drain_waits_for_live_runs(start: Any) -> None:
    sup = start(eight_node_graph(params={"sleep": 0.02}))
    ids = [await sup.start_run() for _ in range(3)]
    assert sorted(await sup.live_runs()) == sorted(ids)
    await sup.drain()
    assert await sup.live_runs() == []
    assert {(await sup.state(i)).status for i in ids} == {"succeeded"}


@pytest.mark.parametrize("where", ["this loop", "a loop thread"])
async def test_a_wait_that_timed_out_does_not_break_the_run(
    registry: AgentRegistry, store: EventStore, where: str
) -> None:
    """A caller giving up on `wait` (timeout, cancel) leaves the run and other waiters be.

    Regression: the supervisor answered the abandoned wait anyway, which raised in the
    middle of finishing the run, so the run was dropped and later waits hung."""
    from agentos.actors import Supervisor
    from agentos.actors._loop import LoopThread

    thread = LoopThread() if where == "a loop thread" else None
    loop = thread.loop if thread is not None else None
    graph = _one("sleepy", params={"sleep": 0.2})
    sup = Supervisor.start(graph, store, agents=registry, loop=loop)
    try:
        run_id = await sup.start_run()
        with pytest.raises(TimeoutError):
            await sup.wait(run_id, timeout=0.01)
        other = asyncio.ensure_future(sup.wait(run_id, timeout=5))
        await asyncio.sleep(0.01)
        other.cancel()
        state = await sup.wait(run_id, timeout=5)
        assert state.status == "succeeded"
        again = await sup.run(timeout=5)  # the supervisor still takes runs
        assert again.status == "succeeded"
    finally:
        await sup.stop()
        await store.close()
        if thread is not None:
            thread.stop()
