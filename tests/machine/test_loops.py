"""Bounded loops: a decider's `Next([to])` runs the loop body again, up to a bound."""

from __future__ import annotations

from typing import Any

from machine_support import Clock, Driven, dispatched, kinds, of, spec_of

from agentos.graphs.topology import Topology
from agentos.machine.effects import Dispatch, Finished
from agentos.machine.run_machine import RunMachine
from agentos.machine.slots import NodeSlots
from agentos.state.fold import fold


def review_graph(max_iterations: int = 3, publish: bool = True) -> dict[str, Any]:
    """draft -> writer -> reviewer (loop back to writer) [-> publish]."""
    nodes: list[dict[str, Any]] = [
        {"name": "draft", "agent": "x:y"},
        {"name": "writer", "agent": "x:y", "after": ["draft"]},
        {
            "name": "reviewer",
            "agent": "x:y",
            "after": ["writer"],
            "loop": {"to": "writer", "max_iterations": max_iterations},
        },
    ]
    if publish:
        nodes.append({"name": "publish", "agent": "x:y", "after": ["reviewer"]})
    return {"name": "review", "nodes": nodes}


def reject(run: Driven, n: int) -> Any:
    """The writer's and reviewer's pass `n`, the reviewer sending the draft back."""
    run.done("writer", output={"text": f"draft {n}"})
    return run.done("reviewer", output={"comments": f"fix {n}"}, next=["writer"])


def test_a_rejection_starts_the_next_pass_of_the_body() -> None:
    run = Driven(review_graph())
    run.done("draft")
    decision = reject(run, 1)
    assert kinds(decision) == [
        ("node_succeeded", "reviewer"),
        ("loop_iterated", "reviewer"),
        ("node_started", "writer"),
    ]
    iterated = decision.events[1]
    assert iterated.data.iteration == 2  # type: ignore[attr-defined]
    assert iterated.data.body == ["writer", "reviewer"]  # type: ignore[attr-defined]
    assert decision.events[2].iteration == 2  # the writer#2's events say so
    assert dispatched(decision) == [("writer", 1)]
    state = run.machine.state
    assert (state.nodes["writer"].iteration, state.nodes["writer"].status) == (2, "running")
    assert state.nodes["reviewer"].status == "pending"
    assert state.nodes["publish"].status == "pending"  # not skipped: the loop decides again
    assert run.folded_matches()


def test_the_body_sees_the_outputs_of_the_pass_before() -> None:
    run = Driven(review_graph())
    run.done("draft", output={"topic": "t"})
    job = of(reject(run, 1), Dispatch)[0]
    assert job.outputs["reviewer"] == {"comments": "fix 1"}  # the comments reach the writer
    assert job.outputs["writer"] == {"text": "draft 1"}
    assert job.outputs["draft"] == {"topic": "t"}


def test_two_rejections_then_an_approval_publishes() -> None:
    run = Driven(review_graph())
    run.done("draft")
    reject(run, 1)
    reject(run, 2)
    run.done("writer", output={"text": "draft 3"})
    decision = run.done("reviewer", output={"ok": True}, next=["publish"])
    assert dispatched(decision) == [("publish", 1)]
    assert decision.events[0].iteration == 3
    final = run.done("publish")
    assert kinds(final)[-1] == ("run_succeeded", None)
    iterations = [e.data.iteration for e in run.log if e.type == "loop_iterated"]  # type: ignore[attr-defined]
    assert iterations == [2, 3]
    assert run.folded_matches()


def test_at_the_limit_the_other_successors_run() -> None:
    run = Driven(review_graph(max_iterations=2))
    run.done("draft")
    reject(run, 1)
    decision = reject(run, 2)  # the last pass asks for a third
    assert kinds(decision) == [
        ("loop_exhausted", "reviewer"),
        ("node_succeeded", "reviewer"),
        ("node_started", "publish"),
    ]
    reason = decision.events[0].data.reason  # type: ignore[attr-defined]
    assert reason == "loop reviewer -> writer reached max_iterations 2"
    assert decision.events[1].data.next is None  # type: ignore[attr-defined]
    assert kinds(run.done("publish"))[-1] == ("run_succeeded", None)
    assert run.folded_matches()


def test_at_the_limit_without_other_successors_the_run_fails() -> None:
    run = Driven(review_graph(max_iterations=1, publish=False))
    run.done("draft")
    decision = reject(run, 1)
    assert kinds(decision)[-1] == ("run_failed", "reviewer")
    error = decision.events[-1].data.error  # type: ignore[attr-defined]
    assert error == "loop reviewer -> writer reached max_iterations 1"
    assert of(decision, Finished)
    assert run.machine.state.error == error
    assert run.folded_matches()


def test_a_node_without_a_loop_still_cannot_choose_an_upstream_node() -> None:
    run = Driven(review_graph())
    run.done("draft")
    decision = run.done("writer", next=["draft"])
    assert kinds(decision)[0] == ("node_failed", "writer")


def test_resume_after_a_pass_started_runs_the_next_pass() -> None:
    run = Driven(review_graph())
    run.done("draft")
    run.done("writer")
    run.done("reviewer", next=["writer"])
    log = run.log[: [e.type for e in run.log].index("loop_iterated") + 1]
    state = fold(log)
    assert (state.nodes["writer"].status, state.nodes["writer"].iteration) == ("pending", 2)
    spec = spec_of(review_graph())
    machine = RunMachine(state, spec, Topology(spec), NodeSlots(), Clock())
    decision = machine.resume()
    assert dispatched(decision) == [("writer", 1)]
    assert decision.events[0].iteration == 2
