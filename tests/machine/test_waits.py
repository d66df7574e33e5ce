"""Wait nodes and signals, decided without actors."""

from __future__ import annotations

from typing import Any

import pytest
from machine_support import Clock, Driven, dispatched, kinds, of, spec_of

from agentos.actors.errors import RunEndedError
from agentos.graphs.topology import Topology
from agentos.machine.effects import Answer, Finished, Refuse, RetryLater
from agentos.machine.facts import Cancel, RetryDue, Signal, WaitTimeout
from agentos.machine.run_machine import RunMachine
from agentos.machine.slots import NodeSlots
from agentos.state.fold import fold

APPROVED = {"approved": True, "by": "ana", "comment": "ship it"}


def approval_graph(**wait_extra: Any) -> dict[str, Any]:
    """planner -> approval (waits for the signal "approval") -> publish."""
    return {
        "name": "approve",
        "nodes": [
            {"name": "planner", "agent": "x:y"},
            {"name": "approval", "after": ["planner"], "wait": "approval", **wait_extra},
            {"name": "publish", "agent": "x:y", "after": ["approval"]},
        ],
    }


def signal(run: Driven, payload: dict[str, Any], name: str = "approval") -> Any:
    return run.handle(Signal("r1", name, payload, reply="sent"))


def test_a_wait_node_waits_instead_of_running() -> None:
    run = Driven(approval_graph())
    decision = run.done("planner")
    assert kinds(decision) == [("node_succeeded", "planner"), ("node_waiting", "approval")]
    assert dispatched(decision) == []
    state = run.machine.state
    assert state.status == "waiting"
    assert state.nodes["approval"].status == "waiting"
    assert state.waiting["approval"].signal == "approval"
    assert run.folded_matches()


def test_wait_then_signal_gives_the_payload_as_output() -> None:
    run = Driven(approval_graph())
    run.done("planner")
    decision = signal(run, APPROVED)
    assert kinds(decision) == [
        ("signal_received", "approval"),
        ("node_succeeded", "approval"),
        ("node_started", "publish"),
    ]
    assert of(decision, Answer) == [Answer("sent", True)]
    assert run.machine.state.nodes["approval"].output == APPROVED
    assert run.machine.state.status == "running"
    job = dispatched(decision)
    assert job == [("publish", 1)]
    assert run.machine.state.waiting == {}
    assert kinds(run.done("publish"))[-1] == ("run_succeeded", None)
    assert run.folded_matches()


def test_a_signal_before_the_wait_is_kept_then_taken() -> None:
    run = Driven(approval_graph())
    decision = signal(run, APPROVED)
    assert kinds(decision) == [("signal_received", None)]
    assert run.machine.state.signals == {"approval": APPROVED}
    assert run.machine.state.status == "running"  # planner still runs
    decision = run.done("planner")
    assert kinds(decision) == [
        ("node_succeeded", "planner"),
        ("node_waiting", "approval"),
        ("node_succeeded", "approval"),
        ("node_started", "publish"),
    ]
    assert run.machine.state.signals == {}
    assert run.folded_matches()


def test_a_signal_nobody_waits_for_stays_kept() -> None:
    run = Driven(approval_graph())
    run.done("planner")
    decision = signal(run, {"x": 1}, name="other")
    assert kinds(decision) == [("signal_received", None)]
    assert run.machine.state.status == "waiting"
    assert run.machine.state.signals == {"other": {"x": 1}}


def test_a_rejection_fails_the_run_by_default() -> None:
    run = Driven(approval_graph())
    run.done("planner")
    decision = signal(run, {"approved": False, "by": "bob", "comment": "too long"})
    assert kinds(decision) == [
        ("signal_received", "approval"),
        ("node_failed", "approval"),
        ("run_failed", "approval"),
    ]
    assert run.machine.state.error == "node approval failed: rejected by bob: too long"
    assert of(decision, Finished)
    assert run.folded_matches()


def test_a_rejection_continues_when_the_policy_says_so() -> None:
    run = Driven(approval_graph(policy={"on_failure": "continue"}))
    run.done("planner")
    decision = signal(run, {"approved": False})
    assert ("node_failed", "approval") in kinds(decision)
    assert dispatched(decision) == [("publish", 1)]
    job = decision.effects[-1]
    assert job.upstream["approval"] == {  # type: ignore[union-attr]
        "status": "failed",
        "output": None,
        "error": "rejected",
    }
    assert run.folded_matches()


def test_a_rejection_with_retries_waits_again() -> None:
    run = Driven(approval_graph(policy={"retry": {"max_attempts": 2}}))
    run.done("planner")
    decision = signal(run, {"approved": False})
    assert kinds(decision)[-1] == ("node_retrying", "approval")
    [later] = of(decision, RetryLater)
    decision = run.handle(later.due)
    assert kinds(decision) == [("node_waiting", "approval")]
    assert run.machine.state.nodes["approval"].attempts == 2
    assert ("node_succeeded", "approval") in kinds(signal(run, APPROVED))
    assert run.folded_matches()


def test_a_wait_times_out_by_its_policy() -> None:
    run = Driven(approval_graph(policy={"timeout": 30}))
    decision = run.done("planner")
    [timer] = of(decision, RetryLater)
    assert (timer.delay, timer.due) == (30, WaitTimeout("r1", "approval", 1))
    decision = run.handle(timer.due)
    assert kinds(decision) == [("node_failed", "approval"), ("run_failed", "approval")]
    failed = decision.events[0]
    assert failed.data.error_type == "TimeoutError"  # type: ignore[attr-defined]
    assert failed.data.error == "no signal 'approval' within 30s"  # type: ignore[attr-defined]
    assert run.folded_matches()


def test_a_timeout_after_the_signal_changes_nothing() -> None:
    run = Driven(approval_graph(policy={"timeout": 30}))
    run.done("planner")
    signal(run, APPROVED)
    assert run.handle(WaitTimeout("r1", "approval", 1)).events == []


def test_cancel_cancels_a_waiting_node() -> None:
    run = Driven(approval_graph())
    run.done("planner")
    decision = run.handle(Cancel("r1", "stop", None))
    assert kinds(decision) == [("node_cancelled", "approval"), ("run_cancelled", None)]
    assert run.machine.state.waiting == {}
    assert run.folded_matches()


def test_a_signal_to_an_ended_run_is_refused() -> None:
    run = Driven(approval_graph())
    run.handle(Cancel("r1", "stop", None))
    decision = signal(run, APPROVED)
    assert decision.events == []
    [refused] = of(decision, Refuse)
    assert isinstance(refused.error, RunEndedError)


def resumed(run: Driven) -> tuple[RunMachine, Any]:
    """A new machine on the fold of the run's log, as after a kill -9, and its resume."""
    spec = spec_of(approval_graph(policy={"timeout": 30}))
    machine = RunMachine(fold(run.log), spec, Topology(spec), NodeSlots(), Clock())
    return machine, machine.resume("again")


def test_resume_keeps_a_waiting_run_waiting() -> None:
    run = Driven(approval_graph(policy={"timeout": 30}))
    run.done("planner")
    machine, decision = resumed(run)
    assert decision.events == []  # not restarted as interrupted
    assert machine.state.status == "waiting"
    [timer] = of(decision, RetryLater)
    assert timer.due == WaitTimeout("r1", "approval", 1)
    assert 0 <= timer.delay <= 30


def test_a_signal_recorded_while_nobody_drove_the_run_is_taken_on_resume() -> None:
    run = Driven(approval_graph(policy={"timeout": 30}))
    run.done("planner")
    recorder, _ = resumed(run)
    kept = recorder.record(Signal("r1", "approval", APPROVED, reply="rec"))
    assert kinds(kept) == [("signal_received", None)]
    assert of(kept, Answer) == [Answer("rec", True)]
    run.log += kept.events
    assert fold(run.log).status == "waiting"
    machine, decision = resumed(run)
    assert kinds(decision) == [("node_succeeded", "approval"), ("node_started", "publish")]
    assert machine.state.signals == {} and machine.state.waiting == {}


@pytest.mark.parametrize("payload", [{"approved": True}, {}, {"note": "ok"}])
def test_anything_but_approved_false_succeeds(payload: dict[str, Any]) -> None:
    run = Driven(approval_graph())
    run.done("planner")
    assert ("node_succeeded", "approval") in kinds(signal(run, payload))


def test_retry_due_never_dispatches_a_wait_node() -> None:
    run = Driven(approval_graph())
    run.done("planner")
    assert run.handle(RetryDue("r1", "approval", 1)).events == []
