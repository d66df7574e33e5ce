"""fold and evolve on a hand-built run: the state is exactly what its events say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentos.events import (
    Envelope,
    FileWritten,
    ModelCalled,
    NodeFailed,
    NodeRetrying,
    NodeScheduled,
    NodeStarted,
    NodeSucceeded,
    RunCreated,
    RunStarted,
    RunSucceeded,
)
from agentos.events.model import (
    FileWrittenData,
    ModelCalledData,
    NodeFailedData,
    NodeRetryingData,
    NodeSucceededData,
    RunCreatedData,
)
from agentos.eventstore import InMemoryEventStore
from agentos.state import RunState, UnknownStepError, evolve, fold, load_state, state_hash

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SPEC = {"nodes": [{"name": "plan"}, {"name": "code"}, {"name": "review"}]}


def _called(tokens_in: int, tokens_out: int, cost: float) -> ModelCalledData:
    return ModelCalledData(
        provider="fake",
        model="m1",
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost,
        latency_ms=5.0,
    )


def build_run(run_id: str = "run-a", review_output: str = "lgtm") -> list[Envelope]:
    """A run of plan -> code -> review where code fails once and is retried."""
    steps: list[tuple[type[Envelope], dict]] = [
        (RunCreated, {"data": RunCreatedData(graph="g", spec=SPEC, inputs={"task": "x"})}),
        (RunStarted, {}),
        (NodeScheduled, {"node": "plan"}),
        (NodeStarted, {"node": "plan", "attempt": 1}),
        (ModelCalled, {"node": "plan", "data": _called(100, 20, 0.01)}),
        (NodeSucceeded, {"node": "plan", "data": NodeSucceededData(output={"plan": "p"})}),
        (NodeStarted, {"node": "code", "attempt": 1}),
        (ModelCalled, {"node": "code", "data": _called(300, 200, 0.05)}),
        (NodeFailed, {"node": "code", "data": NodeFailedData(error="boom", final=False)}),
        (NodeRetrying, {"node": "code", "data": NodeRetryingData(delay=0.1, error="boom")}),
        (NodeStarted, {"node": "code", "attempt": 2}),
        (ModelCalled, {"node": "code", "data": _called(310, 190, 0.04)}),
        (FileWritten, {"node": "code", "data": FileWrittenData(path="a.py", sha256="aa", size=3)}),
        (FileWritten, {"node": "code", "data": FileWrittenData(path="b.py", sha256="bb", size=4)}),
        (FileWritten, {"node": "code", "data": FileWrittenData(path="b.py", op="delete")}),
        (NodeSucceeded, {"node": "code", "data": NodeSucceededData(output={"files": 2})}),
        (NodeStarted, {"node": "review", "attempt": 1}),
        (ModelCalled, {"data": _called(50, 5, 0.001)}),  # a run-level call, no node
        (
            NodeSucceeded,
            {"node": "review", "data": NodeSucceededData(output={"verdict": review_output})},
        ),
        (RunSucceeded, {}),
    ]
    return [
        cls(seq=i, run_id=run_id, ts=T0 + timedelta(seconds=i), **kw)
        for i, (cls, kw) in enumerate(steps, start=1)
    ]


def test_fold_whole_run() -> None:
    events = build_run()
    state = fold(events)
    assert state.run_id == "run-a"
    assert state.graph == "g"
    assert state.inputs == {"task": "x"}
    assert state.status == "succeeded"
    assert state.finished
    assert state.last_seq == 20
    assert state.created_at == T0 + timedelta(seconds=1)
    assert state.started_at == T0 + timedelta(seconds=2)
    assert state.ended_at == state.updated_at == T0 + timedelta(seconds=20)
    assert state.duration_s() == 18.0
    assert list(state.nodes) == ["plan", "code", "review"]
    plan, code, review = (state.nodes[n] for n in ("plan", "code", "review"))
    assert (plan.status, plan.attempts, plan.output) == ("succeeded", 1, {"plan": "p"})
    assert (code.status, code.attempts, code.output) == ("succeeded", 2, {"files": 2})
    assert code.error is None  # cleared by the retry's start
    assert code.first_seq == 7
    assert (review.status, review.output) == ("succeeded", {"verdict": "lgtm"})
    # usage: the run total is the sum of every model_called, per node only its own
    calls = [e for e in events if e.type == "model_called"]  # type: ignore[attr-defined]
    assert state.usage.calls == len(calls) == 4
    assert state.usage.tokens_in == sum(e.data.tokens_in for e in calls) == 760  # type: ignore[attr-defined]
    assert state.usage.tokens_out == sum(e.data.tokens_out for e in calls) == 415  # type: ignore[attr-defined]
    assert state.usage.cost == pytest.approx(0.101)
    assert (code.usage.calls, code.usage.tokens_in, code.usage.tokens_out) == (2, 610, 390)
    assert code.usage.cost == pytest.approx(0.09)
    assert review.usage.calls == 0
    # the workspace map: the latest write or delete of each path
    assert set(state.workspace) == {"a.py", "b.py"}
    a, b = state.workspace["a.py"], state.workspace["b.py"]
    assert (a.sha256, a.size, a.seq, a.deleted) == ("aa", 3, 13, False)
    assert (b.sha256, b.size, b.seq, b.deleted) == (None, 0, 15, True)


def test_fold_mid_run() -> None:
    state = fold(build_run(), upto=9)
    assert state.status == "running"
    assert state.last_seq == 9
    code = state.nodes["code"]
    assert (code.status, code.error, code.attempts) == ("running", "boom", 1)
    assert state.nodes["review"].status == "pending"
    assert state.usage.calls == 2


@pytest.mark.parametrize("seq", range(1, 21))
def test_fold_upto_seq_is_the_prefix(seq: int) -> None:
    events = build_run()
    assert fold(events, upto=seq) == fold(events[:seq])
    assert fold(events, upto=seq).last_seq == seq


@pytest.mark.parametrize(("step", "before"), [("plan", 2), ("code", 6), ("review", 16)])
def test_fold_upto_step(step: str, before: int) -> None:
    """fold(upto=node) is the state just before the node was first scheduled or started."""
    events = build_run()
    state = fold(events, upto=step)
    assert state == fold(events[:before])
    assert state.nodes[step].status == "pending"
    assert state.nodes[step].attempts == 0


def test_unknown_step() -> None:
    events = build_run()
    with pytest.raises(UnknownStepError, match="never started step 'deploy'"):
        fold(events, upto="deploy")
    with pytest.raises(UnknownStepError, match="no seq 21"):
        fold(events, upto=21)
    with pytest.raises(LookupError):
        fold(events[:5], upto="code")


async def test_load_state_matches_fold() -> None:
    events = build_run()
    store = InMemoryEventStore()
    await store.append("run-a", events, expected_seq=0)
    assert await load_state(store, "run-a") == fold(events)
    assert await load_state(store, "run-a", upto=7) == fold(events, upto=7)
    assert await load_state(store, "run-a", upto="review") == fold(events, upto="review")
    with pytest.raises(UnknownStepError):
        await load_state(store, "run-a", upto="deploy")
    with pytest.raises(UnknownStepError):
        await load_state(store, "run-a", upto=99)


def test_evolve_refuses_a_seq_gap() -> None:
    events = build_run()
    state = fold(events[:3])
    with pytest.raises(ValueError, match="seq 5 does not follow 3"):
        evolve(state, events[4])
    with pytest.raises(ValueError, match="does not follow"):
        evolve(state, events[2])  # a repeat
    assert state == fold(events[:3])  # a refused event changes nothing
    with pytest.raises(ValueError):
        fold([events[0], events[2]])


def test_evolve_returns_the_same_state() -> None:
    state = RunState()
    for event in build_run():
        assert evolve(state, event) is state
    assert state == fold(build_run())


def test_state_hash_ignores_identity() -> None:
    a, b = fold(build_run("run-a")), fold(build_run("run-b"))
    assert a.run_id != b.run_id
    assert state_hash(a) == state_hash(b)
    # timing does not count either
    shifted = [e.model_copy(update={"ts": e.ts + timedelta(hours=1)}) for e in build_run()]
    assert state_hash(fold(shifted)) == state_hash(a)


def test_state_hash_sees_content() -> None:
    base = state_hash(fold(build_run()))
    assert state_hash(fold(build_run(review_output="needs work"))) != base
    assert state_hash(fold(build_run()[:-1])) != base  # running, not succeeded
    assert len(base) == 64


def test_fold_refuses_seq_zero_and_negative() -> None:
    from agentos.events import RunCreated, utcnow
    from agentos.state import UnknownStepError, fold

    events = [RunCreated(seq=1, run_id="r", ts=utcnow(), data={"graph": "g", "spec": {}})]
    for bad in (0, -1, 2):
        with pytest.raises(UnknownStepError):
            fold(events, upto=bad)
