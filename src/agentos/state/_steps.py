"""What each step of a run did, read from its events: one record per node, map
instance (`researcher[1]`) and loop pass (`writer#2`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from agentos.events import model as ev

#: the events that mean a step's attempt began to run (or to wait)
_BEGINS = frozenset({"node_started", "node_waiting", "map_expanded"})
_STATUS = {
    "node_scheduled": "scheduled",
    "node_started": "running",
    "node_waiting": "waiting",
    "map_expanded": "running",
    "node_retrying": "retrying",
    "node_succeeded": "succeeded",
    "node_skipped": "skipped",
    "node_cancelled": "cancelled",
}


class StepRecord(BaseModel):
    """One step of a run as its events tell it."""

    status: str = "pending"
    ran: bool = Field(default=False, description="an attempt of it started (or waited)")
    attempts: int = 0
    output: dict[str, Any] | None = None
    error: str | None = None
    model: str | None = Field(default=None, description="provider/model of its last call")
    models: list[str] = Field(default_factory=list, description="every provider/model called")
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    duration_ms: float = 0.0


def step_name(event: ev.Envelope) -> str | None:
    """The step an event belongs to: its node, with `#N` for a loop pass after the first."""
    if event.node is None:
        return None
    iteration = event.iteration or 1
    return event.node if iteration == 1 else f"{event.node}#{iteration}"


def step_records(events: Iterable[ev.Envelope]) -> dict[str, StepRecord]:
    """Every step of the run in the order it first appears; the graph's nodes that no
    event names are `pending` (they never ran)."""
    steps: dict[str, StepRecord] = {}
    for event in events:
        if isinstance(event, ev.RunCreated):
            for spec in event.data.spec.get("nodes", []):
                steps.setdefault(str(spec.get("name")), StepRecord())
            continue
        name = step_name(event)
        if name is None:
            continue
        _apply(steps.setdefault(name, StepRecord()), event)
    return steps


def _apply(step: StepRecord, event: ev.Envelope) -> None:
    kind = event.type
    if kind in _STATUS:
        step.status = _STATUS[kind]
    if kind in _BEGINS:
        step.ran = True
        step.attempts = max(step.attempts, event.attempt or 1)
    if isinstance(event, ev.NodeSucceeded):
        step.output = dict(event.data.output)
        step.error = None
        step.duration_ms = event.data.duration_ms
    elif isinstance(event, ev.NodeFailed):
        step.status = "failed" if event.data.final else "retrying"
        step.error = event.data.error
        step.duration_ms = event.data.duration_ms
    elif isinstance(event, ev.NodeCancelled):
        step.error = event.data.reason or None
    elif isinstance(event, ev.ModelSelected) and step.model is None:
        step.model = f"{event.data.provider}/{event.data.model}"
    elif isinstance(event, ev.ModelCalled):
        used = f"{event.data.provider}/{event.data.model}"
        step.model = used
        if used not in step.models:
            step.models.append(used)
        step.calls += 1
        step.tokens_in += event.data.tokens_in
        step.tokens_out += event.data.tokens_out
        step.cost = round(step.cost + event.data.cost, 10)
