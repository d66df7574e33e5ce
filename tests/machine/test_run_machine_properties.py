"""Any sequence of facts keeps the machine's state equal to the fold of its events."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from machine_support import Driven, fan_graph

from agentos.machine.effects import Dispatch, Finished
from agentos.machine.facts import Cancel, ModelCall, RetryDue, Signal, WaitTimeout
from agentos.state.fold import fold

NODES = ["planner", "a", "b", "b[0]", "b[1]", "c", "join", "last", "nope"]

facts = st.lists(
    st.tuples(
        st.sampled_from(["done", "retry", "cancel", "call", "signal", "timeout", "busy"]),
        st.sampled_from(NODES),
        st.integers(1, 3),
        st.booleans(),
        st.sampled_from([None, ["a"], ["b", "c"], ["last"], ["a", "last"]]),
    ),
    max_size=40,
)

# facts that mostly finish what runs, so runs get through their loops
loop_facts = st.lists(
    st.tuples(
        st.sampled_from(["busy"] * 8 + ["done", "retry", "call"]),
        st.sampled_from(NODES),
        st.integers(1, 3),
        st.sampled_from([True] * 9 + [False]),
        st.sampled_from([None, ["a"], ["a"], ["a", "last"], ["last"]]),
    ),
    min_size=8,
    max_size=60,
)

policies = st.sampled_from(
    [
        {},
        {"on_failure": "continue"},
        {"retry": {"max_attempts": 2, "initial_interval": 0.1}},
        {"concurrency": 1, "retry": {"max_attempts": 3}},
        {"timeout": 5, "on_failure": "continue", "retry": {"max_attempts": 2}},
    ]
)


def with_waits(doc: dict[str, Any], waits: bool) -> dict[str, Any]:
    """The fan graph, where node c may wait for the signal "go" instead of running."""
    if waits:
        node = next(n for n in doc["nodes"] if n["name"] == "c")
        del node["agent"]
        node["wait"] = "go"
    return doc


def with_loop(doc: dict[str, Any], loop: int) -> dict[str, Any]:
    """The fan graph, where `join` may send the run back to `a` (`loop` passes at most)."""
    if loop:
        node = next(n for n in doc["nodes"] if n["name"] == "join")
        node["loop"] = {"to": "a", "max_iterations": loop}
    return doc


def with_map(doc: dict[str, Any], mapped: int) -> dict[str, Any]:
    """The fan graph, where `b` may run once per item of planner's output["items"]
    (`mapped` - 1 at once; 0: not a map)."""
    if mapped:
        node = next(n for n in doc["nodes"] if n["name"] == "b")
        node["map"] = "planner.items"
        if mapped > 1:
            node["max_parallel"] = mapped - 1
    return doc


def _items(attempt: int) -> dict[str, Any]:
    """An output with a list of 0 to 2 items (an empty one skips a map)."""
    return {"items": list(range(attempt % 3))}


def _fact(run: Driven, kind: str, node: str, attempt: int, ok: bool, chosen: Any) -> Any:
    if kind == "busy":  # the outcome of an attempt the run waits for, to get far
        nodes = run.machine.state.nodes
        running = [n for n in nodes if nodes[n].status == "running"] or [node]
        attempt = nodes[running[0]].attempts if running[0] in nodes else attempt
        if chosen and running[0] in run.topo.order:  # a choice it may make (not: "done")
            chosen = chosen if set(chosen) <= set(run.topo.choices(running[0])) else None
        out = _items(attempt)
        return run.done(running[0], attempt, ok, next=chosen if ok else None, error="e", output=out)
    if kind == "done":
        out = _items(attempt)
        return run.done(node, attempt, ok, next=chosen if ok else None, error="e", output=out)
    if kind == "retry":
        return run.handle(RetryDue("r1", node, attempt))
    if kind == "signal":  # "go" (approved or not) or a signal nobody waits for
        name = "go" if node != "nope" else "other"
        return run.handle(Signal("r1", name, {"approved": ok, "n": attempt}, None))
    if kind == "timeout":
        return run.handle(WaitTimeout("r1", node, attempt))
    if kind == "cancel":
        return run.handle(Cancel("r1", "stop", None))
    data = {"provider": "p", "model": "m", "tokens_in": attempt * 40, "tokens_out": 0}
    data |= {"cost": 0.0, "latency_ms": 1.0, "fallbacks": []}
    return run.handle(ModelCall("r1", node, attempt, data, None))


@settings(max_examples=200, deadline=None)
@given(
    policy=policies,
    steps=facts,
    on_exceed=st.sampled_from(["fail", "downgrade"]),
    waits=st.booleans(),
    loop=st.sampled_from([0, 1, 3]),
    mapped=st.sampled_from([0, 1, 2]),
)
def test_fold_of_the_events_is_the_machine_state(
    policy: dict[str, Any],
    steps: list[tuple[str, str, int, bool, Any]],
    on_exceed: str,
    waits: bool,
    loop: int,
    mapped: int,
) -> None:
    doc = with_map(with_loop(with_waits(fan_graph(policy=policy), waits), loop), mapped)
    run = Driven(doc, budget={"max_tokens": 200, "on_exceed": on_exceed})
    finished_at = None
    for i, step in enumerate(steps):
        decision = _fact(run, *step)
        assert fold(run.log).model_dump() == run.machine.state.model_dump()
        # a dispatched attempt is one the state says is running, with that attempt number
        for job in (e for e in decision.effects if isinstance(e, Dispatch)):
            node = run.machine.state.nodes[job.node]
            assert (node.status, node.attempts) == ("running", job.attempt)
        # a run waits exactly when a node waits and nothing runs or is due
        state = run.machine.state
        # a map node succeeds only once every instance of it has settled
        for name, node in state.nodes.items():
            if node.instances is not None and node.status == "succeeded":
                settled = ("succeeded", "failed")
                assert all(
                    state.nodes[f"{name}[{i}]"].status in settled for i in range(node.instances)
                )
        busy = any(n.status in ("scheduled", "running", "retrying") for n in state.nodes.values())
        if not state.finished:
            assert (state.status == "waiting") == (bool(state.waiting) and not busy)
            assert not set(state.signals) & {w.signal for w in state.waiting.values()}
        if any(isinstance(e, Finished) for e in decision.effects):
            assert finished_at is None, "a run finishes once"
            finished_at = i
        elif finished_at is not None:
            assert decision.events == [], "nothing is appended after the end"
    assert [e.seq for e in run.log] == list(range(1, len(run.log) + 1))
    passes = [e for e in run.log if e.type == "loop_iterated"]
    assert len(passes) <= max(loop - 1, 0), "a loop runs at most max_iterations passes"
    assert all(e.run_id == "r1" for e in run.log)


@settings(max_examples=200, deadline=None)
@given(policy=policies, steps=loop_facts, loop=st.sampled_from([1, 2, 3]))
def test_fold_is_the_machine_state_through_loops(
    policy: dict[str, Any], steps: list[tuple[str, str, int, bool, Any]], loop: int
) -> None:
    run = Driven(with_map(with_loop(fan_graph(policy=policy), loop), 2))
    for step in steps:
        _fact(run, *step)
        assert fold(run.log).model_dump() == run.machine.state.model_dump()
    passes = [e for e in run.log if e.type == "loop_iterated"]
    assert len(passes) <= loop - 1, "a loop runs at most max_iterations passes"
    for event in run.log:  # events of a pass after the first carry its number
        if event.node in ("a", "join") and event.type.startswith("node_"):
            assert (event.iteration or 1) == _pass_of(run.log, event)


def _pass_of(log: list[Any], event: Any) -> int:
    return 1 + sum(1 for e in log if e.type == "loop_iterated" and e.seq < event.seq)
