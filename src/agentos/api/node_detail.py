"""One node of a run in full, built from the run's events: its input, output, error,
attempts, model calls and manifest (what GET /runs/{id}/nodes/{node} answers).

A node is addressed as in replay: `writer` (its current pass), `writer#2` (a loop
pass), `researcher[2]` (a map instance), or both (`researcher[2]#2`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentos._exceptions import UnknownStepError
from agentos.events import model as ev
from agentos.state.fold import fold
from agentos.state.run_state import NodeState, RunState

_INSTANCE = re.compile(r"^(?P<base>.+)\[(?P<index>[0-9]+)\]$")
_STARTS = ("node_started", "node_waiting")


@dataclass(frozen=True)
class Address:
    """Where a node address points: its entry in `state.nodes`, its graph node, the
    map index of an instance, and the loop pass."""

    entry: str
    spec_name: str
    index: int | None
    iteration: int

    @property
    def step(self) -> str:
        """The address as replay spells it: `writer#2`, or `writer` for the first pass."""
        return self.entry if self.iteration == 1 else f"{self.entry}#{self.iteration}"


def spec_node(state: RunState, name: str) -> dict[str, Any] | None:
    """The graph's declaration of node `name`, or None."""
    for node in state.spec.get("nodes", []):
        if node.get("name") == name:
            return dict(node)
    return None


def resolve(state: RunState, address: str) -> Address | None:
    """The node `address` names in this run, or None when the run has no such node or
    the node never reached that pass."""
    entry, mark, count = address.rpartition("#")
    if not mark:
        entry = address
    elif not count.isdigit() or int(count) < 1:
        return None
    match = _INSTANCE.match(entry)
    spec_name = match["base"] if match else entry
    node = state.nodes.get(entry)
    if node is None and (match or spec_node(state, entry) is None):
        return None
    if spec_node(state, spec_name) is None and node is None:
        return None
    current = node.iteration if node is not None else 1
    iteration = int(count) if mark else current
    if iteration > current:
        return None
    return Address(entry, spec_name, int(match["index"]) if match else None, iteration)


class NodeError(BaseModel):
    """Why a node (or one attempt) failed, in full."""

    error_type: str
    message: str


class Attempt(BaseModel):
    """One attempt of a node, from its events."""

    attempt: int
    outcome: str = Field(
        description="running, waiting, succeeded, failed, interrupted or cancelled"
    )
    started_at: datetime | None = None
    ended_at: datetime | None = None
    start_seq: int | None = None
    end_seq: int | None = None
    duration_ms: float | None = None
    error: NodeError | None = None
    retry_in: float | None = Field(default=None, description="seconds before the next attempt")
    model: dict[str, Any] | None = Field(default=None, description="the model chosen and why")
    manifest: dict[str, Any] | None = Field(default=None, description="its context manifest")
    context_text: str | None = Field(default=None, description="the context it was given")


class ModelCall(BaseModel):
    """One model call of a node, as `model_called` recorded it."""

    seq: int
    attempt: int | None
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost: float
    latency_ms: float
    ok: bool
    error: str | None = None
    waited_ms: float = 0.0


class NodeDetail(BaseModel):
    """Everything the log says about one node (one instance, one loop pass) of a run."""

    run_id: str
    node: str = Field(description="the address: `writer#2`, `researcher[1]`")
    name: str = Field(description="the graph node it belongs to")
    index: int | None = Field(default=None, description="the map item's index of an instance")
    iteration: int
    status: str = Field(description="as the run's state says; `never ran` in an ended run")
    spec: dict[str, Any] | None = Field(description="the node as the graph declares it")
    input: dict[str, Any] | None = Field(
        description="params, run inputs and predecessors' outputs when it first started"
    )
    output: dict[str, Any] | None = None
    next: list[str] | None = None
    error: NodeError | None = None
    skip_reason: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    model_calls: list[ModelCall] = Field(default_factory=list)
    manifest: dict[str, Any] | None = None
    waiting: dict[str, Any] | None = Field(default=None, description="the signal it waits for")
    signal: dict[str, Any] | None = Field(default=None, description="the signal it took")
    origin: Literal["inherited", "re-ran"] | None = Field(
        default=None, description="in a replay: copied from the source run, or run again"
    )
    iterations: list[int] = Field(default_factory=list, description="its loop passes so far")
    instances: list[str] = Field(default_factory=list, description="a map node's instances")
    child_run: str | None = None
    events: list[int] = Field(default_factory=list, description="the seqs of its events")


def never_ran(state: RunState, node: NodeState) -> bool:
    """Whether a node of an ended run was left waiting to start: it never will."""
    return state.finished and node.status in ("pending", "scheduled")


def node_detail(state: RunState, events: Sequence[ev.Envelope], where: Address) -> NodeDetail:
    """The node at `where`, from the run's `events` (state is their fold)."""
    mine = [e for e in events if e.node == where.entry and (e.iteration or 1) == where.iteration]
    attempts, calls, found = _attempts(mine)
    node = state.nodes.get(where.entry) or NodeState()
    current = where.iteration == node.iteration
    status = node.status if current else found.get("status", "pending")
    if never_ran(state, node) and current:
        status = "never ran"
    last = attempts[-1] if attempts else None
    origin = state.replayed_from
    return NodeDetail(
        run_id=state.run_id,
        node=where.step,
        name=where.spec_name,
        index=where.index,
        iteration=where.iteration,
        status=status,
        spec=spec_node(state, where.spec_name),
        input=_input(state, events, where) if mine else None,
        output=found.get("output"),
        next=found.get("next"),
        error=found.get("error") if status in ("failed", "cancelled") else None,
        skip_reason=found.get("skip_reason"),
        attempts=attempts,
        model_calls=calls,
        manifest=last.manifest if last and last.manifest else (node.manifest if current else None),
        waiting=_waiting(state, where.entry) if current else None,
        signal=found.get("signal"),
        origin=_origin(mine, origin.from_seq) if origin else None,
        iterations=list(range(1, node.iteration + 1)),
        instances=instances(state, where.entry),
        child_run=getattr(node, "child_run", None),
        events=[e.seq for e in mine],
    )


def _attempts(mine: Sequence[ev.Envelope]) -> tuple[list[Attempt], list[ModelCall], dict[str, Any]]:
    """The attempts and model calls of a node's events, and what its last events said."""
    attempts: dict[int, Attempt] = {}
    calls: list[ModelCall] = []
    found: dict[str, Any] = {}

    def of(e: ev.Envelope) -> Attempt:
        number = e.attempt or (max(attempts) if attempts else 1)
        if number not in attempts:
            attempts[number] = Attempt(attempt=number, outcome="running")
        return attempts[number]

    for e in mine:
        if isinstance(e, ev.NodeStarted | ev.NodeWaiting):
            a = of(e)
            a.outcome = "waiting" if isinstance(e, ev.NodeWaiting) else "running"
            a.started_at, a.start_seq = a.started_at or e.ts, a.start_seq or e.seq
            found["status"] = a.outcome
        elif isinstance(e, ev.NodeSucceeded):
            a = of(e)
            _end(a, e, "succeeded", e.data.duration_ms)
            found.update(status="succeeded", output=e.data.output, next=e.data.next)
        elif isinstance(e, ev.NodeFailed):
            a = of(e)
            _end(a, e, "failed", e.data.duration_ms)
            a.error = NodeError(error_type=e.data.error_type, message=e.data.error)
            found["error"] = a.error
            if e.data.final:
                found["status"] = "failed"
        elif isinstance(e, ev.NodeRetrying):
            a = of(e)
            a.retry_in = e.data.delay
            if a.outcome == "running":  # it never ended: the process stopped under it
                a.outcome = "interrupted"
                a.error = NodeError(error_type="Interrupted", message=e.data.error)
            found["status"] = "retrying"
        elif isinstance(e, ev.NodeCancelled):
            if attempts:
                _end(of(e), e, "cancelled", None)
            found["status"] = "cancelled"
            found["error"] = NodeError(error_type="Cancelled", message=e.data.reason)
        elif isinstance(e, ev.NodeSkipped):
            found.update(status="skipped", skip_reason=e.data.reason)
        elif isinstance(e, ev.NodeScheduled):
            found["status"] = "scheduled"
        elif isinstance(e, ev.ContextCompiled):
            manifest = {"profile": e.data.profile, **e.data.manifest}
            if e.data.context_artifact:
                manifest["context_artifact"] = e.data.context_artifact
            of(e).manifest = manifest
        elif isinstance(e, ev.ModelSelected):
            of(e).model = e.data.model_dump(mode="json")
        elif isinstance(e, ev.ModelCalled):
            calls.append(ModelCall(seq=e.seq, attempt=e.attempt, **e.data.model_dump()))
        elif isinstance(e, ev.SignalReceived):
            found["signal"] = {"name": e.data.name, "payload": e.data.payload}
    return [attempts[n] for n in sorted(attempts)], calls, found


def _end(a: Attempt, e: ev.Envelope, outcome: str, duration_ms: float | None) -> None:
    a.outcome, a.ended_at, a.end_seq = outcome, e.ts, e.seq
    a.duration_ms = duration_ms


def _input(state: RunState, events: Sequence[ev.Envelope], where: Address) -> dict[str, Any]:
    """What the node was given when it first started: the state just before then."""
    try:
        before = fold(events, where.step)
    except UnknownStepError:  # it was only scheduled or skipped: the state now
        before = state
    spec = spec_node(state, where.spec_name) or {}
    upstream = {
        pred: {"status": n.status, "output": n.output, "error": n.error}
        for pred in spec.get("after") or []
        if (n := before.nodes.get(pred)) is not None
    }
    given: dict[str, Any] = {
        "params": spec.get("params") or {},
        "inputs": before.inputs,
        "upstream": upstream,
    }
    previous = {
        name: n.previous_output
        for name, n in before.nodes.items()
        if n.previous_output is not None and n.status != "succeeded"
    }
    if previous:
        given["previous_outputs"] = previous
    if where.index is not None:
        given["index"] = where.index
        given["item"] = _item(before, where, spec.get("map"))
    return given


def _item(state: RunState, where: Address, source: Any) -> Any:
    """The map item of an instance: from the items its map node expanded to, else
    element `index` of the list at `source` (`planner.questions`)."""
    items = getattr(state.nodes.get(where.spec_name), "items", None)
    if not isinstance(items, list) and isinstance(source, str) and "." in source:
        name, _, key = source.rpartition(".")
        items = ((state.nodes.get(name) or NodeState()).output or {}).get(key)
    index = where.index or 0
    return items[index] if isinstance(items, list) and index < len(items) else None


def _waiting(state: RunState, entry: str) -> dict[str, Any] | None:
    waited = state.waiting.get(entry)
    if waited is None:
        return None
    return {"signal": waited.signal, "since": waited.since, "timeout": waited.timeout}


def _origin(mine: Sequence[ev.Envelope], from_seq: int) -> Literal["inherited", "re-ran"] | None:
    if not mine:
        return None
    return "inherited" if mine[-1].seq <= from_seq else "re-ran"


def instances(state: RunState, entry: str) -> list[str]:
    """The instances of map node `entry` in the run (`researcher[0]`, ...), in order."""
    found = []
    for name in state.nodes:
        match = _INSTANCE.match(name)
        if match and match["base"] == entry:
            found.append((int(match["index"]), name))
    return [name for _, name in sorted(found)]
