"""The pure parts under the machine: the plan of a state, the slot table, the run log."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from machine_support import Driven, fan_graph, spec_of

from agentos.actors._prepare import prepare
from agentos.eventstore import InMemoryEventStore, JsonlEventStore, RunLockedError, RunLog
from agentos.graphs.topology import Topology
from agentos.machine.effects import Prepare
from agentos.machine.facts import RetryDue
from agentos.machine.plan import interrupted, plan
from agentos.machine.slots import NodeSlots
from agentos.routing.pool import default_pool
from agentos.routing.router import Router
from agentos.state.fold import fold
from agentos.state.run_state import RunState


def test_plan_of_a_new_run_starts_the_roots_only() -> None:
    spec = spec_of(fan_graph())
    state = RunState(run_id="r", nodes={})
    from agentos.state.run_state import NodeState

    state.nodes = {n.name: NodeState() for n in spec.nodes}
    step = plan(state, Topology(spec))
    assert (step.start, step.skip, step.finished) == (["planner"], [], False)


def test_plan_skips_what_no_edge_reaches_and_finishes() -> None:
    run = Driven(fan_graph())
    run.done("planner", next=["a"])
    state = fold(run.log)
    step = plan(state, run.machine.topo)
    assert step.start == [] and step.skip == []  # the skips were decided already
    assert [n for n, s in state.nodes.items() if s.status == "skipped"] == ["b", "c"]
    assert interrupted(state) == ["a"]


def test_slots_queue_in_order_and_forget_an_ended_run() -> None:
    slots = NodeSlots()
    assert slots.take("n", 1)
    assert not slots.take("n", 1)
    slots.wait("n", RetryDue("r2", "n", 1))
    slots.wait("n", RetryDue("r3", "n", 1))
    slots.forget("r2")
    assert slots.release("n")  # someone waits
    assert slots.next_waiting("n") == RetryDue("r3", "n", 1)
    assert slots.next_waiting("n") is None
    assert slots.take("n", None)  # no limit


async def test_prepare_compiles_the_context_and_chooses_a_model(tmp_path: Path) -> None:
    doc = fan_graph()
    doc["nodes"][0]["context"] = "p"
    sources = [{"kind": "inputs"}, {"kind": "files", "globs": ["*.py"]}]
    doc["context_profiles"] = {"p": {"budget": 2000, "sources": sources}}
    (tmp_path / "m.py").write_text("x = 1\n")
    run = Driven(doc, inputs={"goal": "fix"})
    job = next(e for e in run.last.effects if isinstance(e, Prepare))
    job = replace(job, workspace_root=str(tmp_path))
    prepared = await prepare(job, Router(default_pool()))
    assert prepared.error == "" and prepared.model is not None
    assert prepared.context is not None and "x = 1" in prepared.context.text
    # too small a pool: no model fits, said as the attempt's failure
    big = replace(job, min_tier=9)
    refused = await prepare(big, Router(default_pool()))
    assert refused.error_type == "NoModelFitsError" and refused.model is None


async def test_the_run_log_is_owned_once(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path, durable=False)
    other = JsonlEventStore(tmp_path, durable=False)
    try:
        run = Driven(fan_graph(), run_id="owned")
        log = RunLog.new(store, "owned")
        await asyncio.wrap_future(log.submit(run.log))
        with pytest.raises(RunLockedError):
            await RunLog.open(other, "owned")  # a second owner is refused
        await log.release()
        with pytest.raises(Exception, match="released"):
            log.submit(run.log)
        taken = await RunLog.open(other, "owned")  # free once released
        await taken.release()
    finally:
        await store.close()
        await other.close()


async def test_a_memory_run_log_appends_in_order() -> None:
    store = InMemoryEventStore()
    run = Driven(fan_graph())
    log = RunLog.new(store, "r1")
    assert log.submit(run.log).result() == len(run.log)
    tail = run.done("planner").events
    assert log.submit(tail).result() == len(run.log)
    assert [e.seq for e in await store.read_all("r1")] == list(range(1, len(run.log) + 1))
