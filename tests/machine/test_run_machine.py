"""Decisions without actors: a run's state and one fact give events and effects."""

from __future__ import annotations

from typing import Any

import pytest
from machine_support import Driven, dispatched, fan_graph, kinds, of

from agentos.actors.errors import BudgetExceededError, RunEndedError
from agentos.machine.effects import (
    Answer,
    CancelAttempts,
    Dispatch,
    Finished,
    Refuse,
    RetryLater,
    SlotFreed,
)
from agentos.machine.facts import Cancel, ModelCall, RetryDue
from agentos.state.fold import fold


def test_start_creates_starts_and_dispatches_the_first_node() -> None:
    run = Driven(fan_graph())
    assert kinds(run.last) == [
        ("run_created", None),
        ("run_started", None),
        ("node_started", "planner"),
    ]
    assert dispatched(run.last) == [("planner", 1)]
    assert of(run.last, Answer) == [Answer("start:r1", "r1")]
    assert run.folded_matches()


def test_fan_out_starts_every_successor_at_once() -> None:
    run = Driven(fan_graph())
    decision = run.done("planner", output={"plan": 1})
    assert kinds(decision) == [
        ("node_succeeded", "planner"),
        ("node_started", "a"),
        ("node_started", "b"),
        ("node_started", "c"),
    ]
    assert dispatched(decision) == [("a", 1), ("b", 1), ("c", 1)]
    job = of(decision, Dispatch)[0]
    assert job.outputs == {"planner": {"plan": 1}}
    assert job.upstream["planner"]["status"] == "succeeded"


def test_join_waits_for_every_branch() -> None:
    run = Driven(fan_graph())
    run.done("planner")
    assert dispatched(run.done("a")) == []
    assert dispatched(run.done("b")) == []
    assert dispatched(run.done("c")) == [("join", 1)]


def test_a_chosen_successor_skips_the_others() -> None:
    run = Driven(fan_graph())
    decision = run.done("planner", next=["a"])
    assert ("node_skipped", "b") in kinds(decision)
    assert ("node_skipped", "c") in kinds(decision)
    assert dispatched(decision) == [("a", 1)]
    assert dispatched(run.done("a")) == [("join", 1)]  # one taken edge is enough
    run.done("join")
    final = run.done("last")
    assert kinds(final)[-1] == ("run_succeeded", None)
    assert of(final, Finished)
    assert run.folded_matches()


def test_choosing_a_node_that_is_no_successor_fails_the_attempt() -> None:
    run = Driven(fan_graph())
    decision = run.done("planner", next=["last"])
    failed = decision.events[0]
    assert kinds(decision)[0] == ("node_failed", "planner")
    assert failed.data.error_type == "ValueError"  # type: ignore[attr-defined]
    assert kinds(decision)[-1] == ("run_failed", "planner")


def test_retry_with_backoff_then_success() -> None:
    retry = {"retry": {"max_attempts": 3, "initial_interval": 0.5, "backoff": 2.0}}
    run = Driven(fan_graph(policy=retry))
    decision = run.done("planner", ok=False, error="boom", error_type="RuntimeError")
    assert kinds(decision) == [("node_failed", "planner"), ("node_retrying", "planner")]
    assert of(decision, RetryLater) == [RetryLater(0.5, RetryDue("r1", "planner", 2))]
    assert dispatched(decision) == []
    again = run.handle(RetryDue("r1", "planner", 2))
    assert kinds(again) == [("node_started", "planner")]
    assert dispatched(again) == [("planner", 2)]
    second = run.done("planner", 2, ok=False, error="boom")
    assert of(second, RetryLater) == [RetryLater(1.0, RetryDue("r1", "planner", 3))]
    run.handle(RetryDue("r1", "planner", 3))
    assert dispatched(run.done("planner", 3)) == [("a", 1), ("b", 1), ("c", 1)]
    assert run.folded_matches()


def test_a_retry_due_for_a_node_that_moved_on_does_nothing() -> None:
    run = Driven(fan_graph())
    assert run.handle(RetryDue("r1", "planner", 2)).events == []


def test_the_timeout_travels_with_the_job_and_a_timeout_fails_the_node() -> None:
    run = Driven(fan_graph(policy={"timeout": 2.5}))
    assert of(run.last, Dispatch)[0].timeout == 2.5
    decision = run.done(
        "planner", ok=False, error="timed out after 2.5s", error_type="TimeoutError"
    )
    assert decision.events[0].data.error_type == "TimeoutError"  # type: ignore[attr-defined]
    assert ("run_failed", "planner") in kinds(decision)  # the node that failed it


def test_continue_on_failure_lets_successors_run_and_see_it() -> None:
    run = Driven(fan_graph(policy={"on_failure": "continue"}))
    run.done("planner")
    run.done("a", ok=False, error="nope", error_type="RuntimeError")
    run.done("b")
    decision = run.done("c")
    job = of(decision, Dispatch)[0]
    assert job.node == "join"
    assert job.upstream["a"] == {"status": "failed", "output": None, "error": "nope"}


def test_a_final_failure_cancels_what_runs_and_fails_the_run() -> None:
    run = Driven(fan_graph())
    run.done("planner")
    decision = run.done("a", ok=False, error="bad", error_type="RuntimeError")
    assert kinds(decision) == [
        ("node_failed", "a"),
        ("node_cancelled", "b"),
        ("node_cancelled", "c"),
        ("run_failed", "a"),
    ]
    assert of(decision, CancelAttempts) == [CancelAttempts("r1", ("b", "c"))]
    assert of(decision, Finished)
    assert run.folded_matches()


def _call(tokens: int, reply: str = "call") -> ModelCall:
    data: dict[str, Any] = {
        "provider": "simA",
        "model": "sim-small",
        "tokens_in": tokens,
        "tokens_out": 0,
        "cost": 0.0,
        "latency_ms": 1.0,
        "fallbacks": [],
    }
    return ModelCall("r1", "planner", 1, data, reply)


def test_a_model_call_is_recorded_before_it_is_answered() -> None:
    run = Driven(fan_graph(), budget={"max_tokens": 100})
    decision = run.handle(_call(10))
    assert kinds(decision) == [("model_called", "planner")]
    assert of(decision, Answer) == [Answer("call", None)]


def test_budget_fail_ends_the_run_and_refuses_the_call() -> None:
    run = Driven(fan_graph(), budget={"max_tokens": 100, "on_exceed": "fail"})
    decision = run.handle(_call(150))
    assert kinds(decision) == [
        ("model_called", "planner"),
        ("budget_exceeded", "planner"),
        ("node_cancelled", "planner"),
        ("run_failed", None),
    ]
    (refused,) = of(decision, Refuse)
    assert isinstance(refused.error, BudgetExceededError)
    assert of(decision, Finished)
    # the run has ended: a later call is refused, and nothing is appended
    late = run.handle(_call(1, "late"))
    assert late.events == []
    assert isinstance(of(late, Refuse)[0].error, RunEndedError)


def test_budget_downgrade_routes_later_attempts_to_the_lowest_tier() -> None:
    doc = fan_graph(context="p")
    doc["context_profiles"] = {"p": {"budget": 1000, "sources": []}}
    run = Driven(doc, budget={"max_tokens": 100, "on_exceed": "downgrade"})
    run.machine.lowest_tier = 1
    decision = run.handle(_call(150))
    assert kinds(decision) == [("model_called", "planner"), ("budget_exceeded", "planner")]
    assert of(decision, Answer) == [Answer("call", None)]
    assert run.machine.max_tier == 1


def test_cancel_stops_everything_and_answers() -> None:
    run = Driven(fan_graph())
    run.done("planner")
    decision = run.handle(Cancel("r1", "stop", "cancel-reply"))
    assert kinds(decision)[-1] == ("run_cancelled", None)
    assert [k for k in kinds(decision) if k[0] == "node_cancelled"] == [
        ("node_cancelled", "a"),
        ("node_cancelled", "b"),
        ("node_cancelled", "c"),
    ]
    assert of(decision, CancelAttempts) == [CancelAttempts("r1", ("a", "b", "c"))]
    assert of(decision, Answer) == [Answer("cancel-reply", None)]
    assert run.done("a").events == []  # a late outcome changes nothing
    assert run.folded_matches()


def test_a_stale_attempt_outcome_is_ignored() -> None:
    run = Driven(fan_graph())
    assert run.done("planner", attempt=7).events == []
    assert run.done("a").events == []  # never started


def test_resume_restarts_an_interrupted_attempt() -> None:
    from agentos.machine.run_machine import RunMachine
    from agentos.machine.slots import NodeSlots

    run = Driven(fan_graph())
    run.done("planner")
    state = fold(run.log)  # the process died with a, b, c running
    machine = RunMachine(state, run.machine.spec, run.machine.topo, NodeSlots(), run.machine.clock)
    decision = machine.resume("resume-reply")
    assert kinds(decision) == [
        ("node_retrying", "a"),
        ("node_started", "a"),
        ("node_retrying", "b"),
        ("node_started", "b"),
        ("node_retrying", "c"),
        ("node_started", "c"),
    ]
    assert dispatched(decision) == [("a", 2), ("b", 2), ("c", 2)]
    assert of(decision, Answer) == [Answer("resume-reply", "r1")]
    assert fold([*run.log, *decision.events]).model_dump() == machine.state.model_dump()


def test_concurrency_makes_the_second_run_wait_for_a_slot() -> None:
    from agentos.machine.slots import NodeSlots

    slots = NodeSlots()
    doc = {"name": "one", "nodes": [{"name": "only", "agent": "x:y", "policy": {"concurrency": 1}}]}
    first = Driven(doc, "r1", slots)
    second = Driven(doc, "r2", slots)
    assert dispatched(first.last) == [("only", 1)]
    assert dispatched(second.last) == []
    assert ("node_scheduled", "only") in kinds(second.last)
    decision = first.done("only")
    assert of(decision, SlotFreed) == [SlotFreed("only")]
    due = slots.next_waiting("only")
    assert due == RetryDue("r2", "only", 1)
    woken = second.handle(due)
    assert kinds(woken) == [("node_started", "only")]
    assert dispatched(woken) == [("only", 1)]


@pytest.mark.parametrize("fits", [True, False])
def test_a_node_with_a_context_profile_is_prepared_before_it_is_dispatched(fits: bool) -> None:
    from agentos.context.compiler import compile_context
    from agentos.context.profile import ContextProfile
    from agentos.machine.effects import Prepare
    from agentos.machine.facts import Prepared
    from agentos.routing.pool import default_pool
    from agentos.routing.router import Router

    doc = fan_graph()
    doc["nodes"][0]["context"] = "p"
    doc["context_profiles"] = {"p": {"budget": 500, "sources": [{"kind": "inputs"}]}}
    run = Driven(doc, inputs={"goal": "fix it"})
    assert dispatched(run.last) == []
    (job,) = of(run.last, Prepare)
    assert job.node == "planner" and job.inputs == {"goal": "fix it"}
    context = compile_context(job.profile_name, ContextProfile.model_validate(job.profile), job)
    if fits:
        model = Router(default_pool()).select(tokens_in=10, max_out=10)
        decision = run.handle(Prepared("r1", "planner", 1, context, model))
        assert kinds(decision) == [
            ("context_compiled", "planner"),
            ("model_selected", "planner"),
        ]
        assert of(decision, Dispatch)[0].model == model
    else:
        decision = run.handle(
            Prepared("r1", "planner", 1, context, None, "no model fits", "NoModelFitsError")
        )
        assert kinds(decision)[:2] == [
            ("context_compiled", "planner"),
            ("node_failed", "planner"),
        ]
        assert dispatched(decision) == []
    assert run.folded_matches()


def test_an_attempt_started_and_cancelled_in_one_decision_is_never_dispatched() -> None:
    from agentos.machine.facts import Signal

    doc = fan_graph()
    doc["nodes"][3] = {"name": "c", "after": ["planner"], "wait": "go"}  # c waits
    run = Driven(doc)
    run.handle(Signal("r1", "go", {"approved": False}))  # kept: a rejection, sent early
    decision = run.done("planner")  # a and b start, c takes the rejection: the run fails
    assert ("node_started", "a") in kinds(decision)
    assert kinds(decision)[-1] == ("run_failed", "c")
    assert dispatched(decision) == []  # the log says a and b were cancelled: no agent runs
    assert of(decision, Finished)


def test_a_late_outcome_of_a_cancelled_attempt_frees_no_slot_twice() -> None:
    from agentos.machine.effects import orphaned
    from agentos.machine.facts import NodeDone
    from agentos.machine.slots import NodeSlots

    slots = NodeSlots()
    doc = {"name": "one", "nodes": [{"name": "only", "agent": "x:y", "policy": {"concurrency": 1}}]}
    first, second, third = (Driven(doc, run_id, slots) for run_id in ("r1", "r2", "r3"))
    first.handle(Cancel("r1", "stop", None))  # gives r1's slot back
    due = slots.next_waiting("only")
    assert due == RetryDue("r2", "only", 1)
    assert dispatched(second.handle(due)) == [("only", 1)]  # r2 holds the only slot now
    # r1's attempt reports after its run ended: late, for a run that is gone
    assert first.handle(NodeDone("r1", "only", 1, True)).effects == []
    assert orphaned(NodeDone("r1", "only", 1, True)) == []
    assert not slots.take("only", 1), "the limit of 1 still holds: r2 runs"
    assert dispatched(third.last) == []


def test_an_outcome_for_a_map_node_itself_is_ignored_until_its_instances_settle() -> None:
    doc = fan_graph()
    next(n for n in doc["nodes"] if n["name"] == "b")["map"] = "planner.items"
    run = Driven(doc)
    run.done("planner", output={"items": ["x", "y"]})
    assert run.machine.state.nodes["b"].instances == 2
    decision = run.done("b")  # no attempt of `b` itself runs: nothing follows from this
    assert decision.events == [] and decision.effects == []
    run.done("b[0]")
    assert run.machine.state.nodes["b"].status == "running"
    run.done("b[1]", output={"n": 2})
    assert run.machine.state.nodes["b"].output == {"items": [{}, {"n": 2}], "failed": []}
    assert run.folded_matches()
