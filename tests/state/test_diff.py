"""diff_runs on hand-built logs: steps (instances and loop passes too), outputs, models,
costs, and the first seq where two logs diverge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agentos.events import model as ev
from agentos.state._json_diff import json_changes
from agentos.state.diff import comparable, diff_runs, divergence

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SPEC = {"nodes": [{"name": "plan"}, {"name": "research"}, {"name": "write"}, {"name": "ship"}]}


class Log:
    """A log being written by hand: each `add` gets the next seq and a later time."""

    def __init__(self, run_id: str, shift: float = 0.0) -> None:
        self.run_id, self.shift, self.events = run_id, shift, list[ev.Envelope]()

    def add(self, cls: type[ev.Envelope], **fields: Any) -> Log:
        seq = len(self.events) + 1
        ts = T0 + timedelta(seconds=seq + self.shift)
        self.events.append(cls(seq=seq, run_id=self.run_id, ts=ts, **fields))
        return self


def called(model: str, cost: float, latency: float = 5.0) -> ev.ModelCalledData:
    return ev.ModelCalledData(
        provider="sim", model=model, tokens_in=10, tokens_out=5, cost=cost, latency_ms=latency
    )


def run(
    run_id: str,
    *,
    model: str = "small",
    answer: str = "yes",
    shift: float = 0.0,
    duration: float = 1.0,
    ship_fails: bool = False,
) -> list[ev.Envelope]:
    """plan -> research (a map of two instances) -> write (two loop passes) -> ship."""
    log = Log(run_id, shift)
    log.add(ev.RunCreated, data=ev.RunCreatedData(graph="g", spec=SPEC, inputs={"q": 1}))
    log.add(ev.RunStarted)
    log.add(ev.NodeStarted, node="plan", attempt=1)
    log.add(
        ev.ModelSelected,
        node="plan",
        attempt=1,
        data=ev.ModelSelectedData(provider="sim", model=model, reason="cheapest"),
    )
    log.add(ev.ModelCalled, node="plan", attempt=1, data=called(model, 0.5, latency=duration))
    plan_out = {"questions": ["a", "b"], "answer": answer}
    log.add(
        ev.NodeSucceeded,
        node="plan",
        attempt=1,
        data=ev.NodeSucceededData(output=plan_out, duration_ms=duration),
    )
    log.add(
        ev.MapExpanded,
        node="research",
        attempt=1,
        data=ev.MapExpandedData(source="plan.questions", items=["a", "b"]),
    )
    for i in (0, 1):
        log.add(ev.NodeStarted, node=f"research[{i}]", attempt=1)
        log.add(
            ev.NodeSucceeded,
            node=f"research[{i}]",
            attempt=1,
            data=ev.NodeSucceededData(output={"i": i}, duration_ms=duration),
        )
    log.add(
        ev.NodeSucceeded,
        node="research",
        attempt=1,
        data=ev.NodeSucceededData(output={"all": [0, 1]}, duration_ms=duration),
    )
    log.add(ev.NodeStarted, node="write", attempt=1)
    log.add(
        ev.NodeSucceeded,
        node="write",
        attempt=1,
        data=ev.NodeSucceededData(output={"draft": 1}, duration_ms=duration),
    )
    log.add(
        ev.LoopIterated,
        node="write",
        data=ev.LoopIteratedData(to="write", iteration=2, body=["write"], max_iterations=3),
    )
    log.add(ev.NodeStarted, node="write", attempt=1, iteration=2)
    log.add(
        ev.NodeSucceeded,
        node="write",
        attempt=1,
        iteration=2,
        data=ev.NodeSucceededData(output={"draft": 2}, duration_ms=duration),
    )
    log.add(ev.NodeStarted, node="ship", attempt=1)
    if ship_fails:
        log.add(
            ev.NodeFailed,
            node="ship",
            attempt=1,
            data=ev.NodeFailedData(error="KeyError: 'x'", duration_ms=duration),
        )
        log.add(ev.RunFailed, data=ev.RunFailedData(error="ship failed", node="ship"))
    else:
        log.add(
            ev.NodeSucceeded,
            node="ship",
            attempt=1,
            data=ev.NodeSucceededData(output={"ok": True}, duration_ms=duration),
        )
        log.add(ev.RunSucceeded)
    return log.events


def test_two_runs_that_differ_only_in_ids_times_and_durations_are_the_same() -> None:
    a = run("run-a")
    b = run("run-b", shift=30.0, duration=999.0)
    diff = diff_runs(a, b)
    assert diff.same and diff.diverged is None
    assert [s.step for s in diff.steps] == [
        "plan",
        "research",
        "write",
        "ship",
        "research[0]",
        "research[1]",
        "write#2",
    ]
    assert all(s.ran == "both" and s.changes == [] for s in diff.steps)
    assert diff.a.run_id == "run-a" and diff.b.run_id == "run-b"


def test_a_different_model_shows_in_the_step_its_cost_and_the_divergence() -> None:
    a = run("run-a")
    b = run("run-b", model="large", answer="no")
    diff = diff_runs(a, b)
    plan = next(s for s in diff.steps if s.step == "plan")
    assert plan.changes == ["output", "model"]
    assert plan.a is not None and plan.b is not None
    assert (plan.a.model, plan.b.model) == ("sim/small", "sim/large")
    assert [(c.path, c.a, c.b) for c in plan.output] == [("answer", "yes", "no")]
    # the first event that differs is model_selected (seq 4)
    assert diff.diverged is not None and diff.diverged.seq == 4
    assert diff.diverged.a is not None and diff.diverged.a.type == "model_selected"
    assert not diff.same


def test_instances_and_loop_passes_are_compared_one_by_one() -> None:
    a = run("run-a")
    b = run("run-b")
    second = next(
        e for e in b if e.node == "write" and e.iteration == 2 and isinstance(e, ev.NodeSucceeded)
    )
    index = b.index(second)
    b[index] = second.model_copy(update={"data": ev.NodeSucceededData(output={"draft": 3})})
    diff = diff_runs(a, b)
    changed = {s.step: s.changes for s in diff.steps if s.changes}
    assert changed == {"write#2": ["output"]}
    assert diff.diverged is not None and diff.diverged.seq == second.seq


def test_a_step_that_ran_in_one_run_only() -> None:
    a = run("run-a", ship_fails=True)
    b = run("run-b")[:-3]  # b stopped before ship started
    diff = diff_runs(a, b)
    ship = next(s for s in diff.steps if s.step == "ship")
    assert ship.ran == "a"
    assert ship.a is not None and ship.a.status == "failed"
    assert ship.a.error == "KeyError: 'x'"
    assert ship.b is not None and ship.b.status == "pending"
    assert diff.diverged is not None and diff.diverged.seq == len(b) + 1
    assert diff.diverged.b is None  # b's log ended there
    assert diff.b.status == "running"


def test_a_node_only_one_graph_has() -> None:
    a = run("run-a")
    b = run("run-b")
    extra = ev.NodeStarted(seq=len(b) + 1, run_id="run-b", ts=T0, node="extra", attempt=1)
    diff = diff_runs(a, [*b, extra])
    step = next(s for s in diff.steps if s.step == "extra")
    assert step.ran == "b" and step.a is None and "status" in step.changes


def test_comparable_drops_run_id_ts_and_timings_only() -> None:
    (created, *_rest) = run("run-a")
    event = _rest[3]  # model_called
    seen = comparable(event)
    assert "run_id" not in seen and "ts" not in seen
    assert "latency_ms" not in seen["data"] and seen["data"]["cost"] == 0.5
    assert divergence([created], [created.model_copy(update={"run_id": "x"})]) is None


def test_json_changes_name_paths_and_what_only_one_side_has() -> None:
    a = {"x": {"y": [1, 2, 3]}, "gone": 1, "flag": 1}
    b = {"x": {"y": [1, 5]}, "new": 2, "flag": True}
    found = [(c.path, c.a, c.b, c.only_in) for c in json_changes(a, b)]
    assert found == [
        ("x.y[1]", 2, 5, None),
        ("x.y[2]", 3, None, "a"),
        ("gone", 1, None, "a"),
        ("flag", 1, True, None),
        ("new", None, 2, "b"),
    ]
    assert json_changes({"n": 1}, {"n": 1.0}) == []
    assert len(json_changes(list(range(100)), list(range(1, 101)))) == 50
