"""The diff of two runs: per step, whether it ran in both, what it output, which model
it used at what cost; and the first seq where their logs diverge. Pure: it reads two
lists of events and returns a `RunDiff`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentos.events import model as ev
from agentos.state._json_diff import ValueChange, json_changes
from agentos.state._steps import StepRecord, step_records
from agentos.state.fold import fold

#: fields of an event that say when or how fast, not what: never a divergence
_TIMING = frozenset({"duration_ms", "latency_ms", "waited_ms"})

Ran = Literal["both", "a", "b", "neither"]


class StepDiff(BaseModel):
    """One step (node, map instance or loop pass) of either run."""

    step: str
    ran: Ran = Field(description="which runs ran it: both, a, b or neither")
    same: bool = Field(description="same status, output, error, models, tokens and cost in both")
    changes: list[str] = Field(description="what differs: status, output, error, model, cost")
    a: StepRecord | None = None
    b: StepRecord | None = None
    output: list[ValueChange] = Field(default_factory=list, description="where outputs differ")


class RunSide(BaseModel):
    """One of the two runs, in brief."""

    run_id: str
    graph: str
    status: str
    events: int
    calls: int
    tokens_in: int
    tokens_out: int
    cost: float
    replayed_from: str | None = None


class LogEvent(BaseModel):
    """An event at the seq where the logs diverge."""

    seq: int
    type: str
    node: str | None = None


class Divergence(BaseModel):
    """The first seq whose events differ (ignoring run id, timestamps and timings)."""

    seq: int
    a: LogEvent | None = Field(description="run a's event there; null when its log ended")
    b: LogEvent | None = Field(description="run b's event there; null when its log ended")


class RunDiff(BaseModel):
    """Two runs compared."""

    a: RunSide
    b: RunSide
    same: bool = Field(description="every step the same in both (timings aside)")
    diverged: Divergence | None = Field(description="null when the logs are the same")
    steps: list[StepDiff]


def diff_runs(events_a: Sequence[ev.Envelope], events_b: Sequence[ev.Envelope]) -> RunDiff:
    """Compare the runs whose logs are `events_a` and `events_b`."""
    steps_a, steps_b = step_records(events_a), step_records(events_b)
    names = [*steps_a, *(n for n in steps_b if n not in steps_a)]
    steps = [_step(name, steps_a.get(name), steps_b.get(name)) for name in names]
    return RunDiff(
        a=_side(events_a),
        b=_side(events_b),
        same=all(s.same for s in steps),
        diverged=divergence(events_a, events_b),
        steps=steps,
    )


def divergence(a: Sequence[ev.Envelope], b: Sequence[ev.Envelope]) -> Divergence | None:
    """The first seq where the logs differ, comparing events without run id, timestamp
    and timings; None when they are the same event for event."""
    for index in range(max(len(a), len(b))):
        left = a[index] if index < len(a) else None
        right = b[index] if index < len(b) else None
        if left is None or right is None or comparable(left) != comparable(right):
            return Divergence(seq=index + 1, a=_brief(left), b=_brief(right))
    return None


def comparable(event: ev.Envelope) -> dict[str, Any]:
    """The event as JSON without what differs between any two runs: run id, timestamp,
    and durations or latencies."""
    data = event.model_dump(mode="json", exclude={"run_id", "ts"})
    if isinstance(data.get("data"), dict):
        data["data"] = {k: v for k, v in data["data"].items() if k not in _TIMING}
    return data


def _brief(event: ev.Envelope | None) -> LogEvent | None:
    if event is None:
        return None
    return LogEvent(seq=event.seq, type=event.type, node=event.node)


def _step(name: str, a: StepRecord | None, b: StepRecord | None) -> StepDiff:
    ran_a, ran_b = a is not None and a.ran, b is not None and b.ran
    ran: Ran = "both" if ran_a and ran_b else "a" if ran_a else "b" if ran_b else "neither"
    left, right = a or StepRecord(status="absent"), b or StepRecord(status="absent")
    changes = [
        field
        for field, differs in (
            ("status", left.status != right.status),
            ("output", left.output != right.output),
            ("error", left.error != right.error),
            ("model", left.models != right.models or left.model != right.model),
            ("cost", left.cost != right.cost),
            ("tokens", (left.tokens_in, left.tokens_out) != (right.tokens_in, right.tokens_out)),
        )
        if differs
    ]
    output = json_changes(left.output, right.output) if "output" in changes else []
    return StepDiff(step=name, ran=ran, same=not changes, changes=changes, a=a, b=b, output=output)


def _side(events: Sequence[ev.Envelope]) -> RunSide:
    state = fold(events)
    origin = state.replayed_from
    return RunSide(
        run_id=state.run_id,
        graph=state.graph,
        status=state.status,
        events=state.last_seq,
        calls=state.usage.calls,
        tokens_in=state.usage.tokens_in,
        tokens_out=state.usage.tokens_out,
        cost=state.usage.cost,
        replayed_from=origin.source_run if origin else None,
    )
