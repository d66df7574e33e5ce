"""fold and evolve: the state of a run is the fold of its events."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from agentos._addresses import instance, split_step
from agentos._exceptions import InvalidEventError
from agentos._exceptions import UnknownStepError as UnknownStepError
from agentos.events import model as ev
from agentos.state.run_state import (
    NodeState,
    NodeStatus,
    ParentLink,
    ReplayOrigin,
    RunState,
    Waiting,
    WorkspaceFile,
)

#: node statuses of a run that is not just waiting: something runs or is due to
_BUSY_NODE = frozenset({"scheduled", "running", "retrying"})


def _node(state: RunState, e: ev.Envelope) -> NodeState:
    name = e.node or ""
    node = state.nodes.get(name)
    if node is None:
        node = state.nodes[name] = NodeState()
    return node


def _run_created(state: RunState, e: ev.RunCreated) -> None:
    state.run_id = e.run_id
    state.graph = e.data.graph
    state.spec = e.data.spec
    state.inputs = e.data.inputs
    state.budget = e.data.budget
    state.created_at = e.ts
    if e.data.parent is not None:
        state.parent = ParentLink(run_id=e.data.parent.run_id, node=e.data.parent.node)
    state.graphs = dict(e.data.graphs or {})
    for spec in e.data.spec.get("nodes", []):
        state.nodes.setdefault(spec["name"], NodeState())


def _run_started(state: RunState, e: ev.RunStarted) -> None:
    state.status = "running"
    state.started_at = state.started_at or e.ts


def _node_scheduled(state: RunState, e: ev.NodeScheduled) -> None:
    _node(state, e).status = "scheduled"


def _attempt_begins(state: RunState, e: ev.Envelope, status: NodeStatus) -> None:
    """A node's attempt started (running) or began to wait."""
    node = _node(state, e)
    node.status = status
    node.attempts = max(node.attempts, e.attempt or 1)
    node.started_at = node.started_at or e.ts
    if node.first_seq is None:
        node.first_seq = e.seq
    node.error = None


def _node_started(state: RunState, e: ev.NodeStarted) -> None:
    _attempt_begins(state, e, "running")


def _node_waiting(state: RunState, e: ev.NodeWaiting) -> None:
    _attempt_begins(state, e, "waiting")
    state.waiting[e.node or ""] = Waiting(e.data.signal, e.ts, e.data.timeout)


def _signal_received(state: RunState, e: ev.SignalReceived) -> None:
    if e.node is None:  # nobody took it: kept for the node that waits for it later
        state.signals[e.data.name] = e.data.payload


def _settle_wait(state: RunState, name: str) -> None:
    """A waiting node settled: it no longer waits, and it took its kept signal, if any."""
    if state.waiting:
        waited = state.waiting.pop(name, None)
        if waited is not None:
            state.signals.pop(waited.signal, None)


def _derive_status(state: RunState) -> None:
    """A running run whose only unfinished work is waiting nodes is `waiting`."""
    if state.status in ("running", "waiting"):
        busy = any(n.status in _BUSY_NODE for n in state.nodes.values())
        state.status = "waiting" if state.waiting and not busy else "running"


def _node_succeeded(state: RunState, e: ev.NodeSucceeded) -> None:
    _settle_wait(state, e.node or "")
    node = _node(state, e)
    node.status = "succeeded"
    node.output = e.data.output
    node.next = e.data.next
    node.ended_at = e.ts
    node.duration_ms = e.data.duration_ms


def _node_failed(state: RunState, e: ev.NodeFailed) -> None:
    _settle_wait(state, e.node or "")
    node = _node(state, e)
    node.error = e.data.error
    node.duration_ms = e.data.duration_ms
    if e.data.final:
        node.status = "failed"
        node.ended_at = e.ts


def _node_retrying(state: RunState, e: ev.NodeRetrying) -> None:
    _node(state, e).status = "retrying"


def _node_skipped(state: RunState, e: ev.NodeSkipped) -> None:
    node = _node(state, e)
    node.status = "skipped"
    node.skip_reason = e.data.reason
    node.ended_at = e.ts


def _node_cancelled(state: RunState, e: ev.NodeCancelled) -> None:
    _settle_wait(state, e.node or "")
    node = _node(state, e)
    node.status = "cancelled"
    node.error = e.data.reason or None
    node.ended_at = e.ts


def _context_compiled(state: RunState, e: ev.ContextCompiled) -> None:
    manifest = dict(e.data.manifest)
    manifest.setdefault("profile", e.data.profile)
    if e.data.context_artifact:
        manifest["context_artifact"] = e.data.context_artifact
    _node(state, e).manifest = manifest


def _model_selected(state: RunState, e: ev.ModelSelected) -> None:
    _node(state, e).model = e.data.model_dump(mode="json")


def _model_called(state: RunState, e: ev.ModelCalled) -> None:
    d = e.data
    for usage in (_node(state, e).usage, state.usage) if e.node else (state.usage,):
        usage.calls += 1
        usage.tokens_in += d.tokens_in
        usage.tokens_out += d.tokens_out
        usage.cost = round(usage.cost + d.cost, 10)


def _budget_exceeded(state: RunState, e: ev.BudgetExceeded) -> None:
    state.budget_action = e.data.action


def _artifact_written(state: RunState, e: ev.ArtifactWritten) -> None:
    state.artifacts[e.data.name] = e.data.sha256


def _file_written(state: RunState, e: ev.FileWritten) -> None:
    d = e.data
    state.workspace[d.path] = WorkspaceFile(
        sha256=d.sha256, size=d.size, seq=e.seq, deleted=d.op == "delete"
    )


def _workspace_created(state: RunState, e: ev.WorkspaceCreated) -> None:
    state.workspace_base = e.data.artifact
    state.workspace_source = e.data.source


def _run_succeeded(state: RunState, e: ev.RunSucceeded) -> None:
    state.status = "succeeded"
    state.ended_at = e.ts


def _run_failed(state: RunState, e: ev.RunFailed) -> None:
    state.status = "failed"
    state.error = e.data.error
    state.ended_at = e.ts


def _run_cancelled(state: RunState, e: ev.RunCancelled) -> None:
    state.status = "cancelled"
    state.error = e.data.reason or None
    state.ended_at = e.ts


def _loop_iterated(state: RunState, e: ev.LoopIterated) -> None:
    for name in e.data.body:  # a fresh pass that remembers the last output
        old = state.nodes.get(name) or NodeState()
        previous = old.output if old.output is not None else old.previous_output
        state.nodes[name] = NodeState(iteration=e.data.iteration, previous_output=previous)


def _loop_exhausted(state: RunState, e: ev.LoopExhausted) -> None:
    pass  # a record of why the loop stopped; the decider's node_succeeded follows


def _map_expanded(state: RunState, e: ev.MapExpanded) -> None:
    name = e.node or ""
    _attempt_begins(state, e, "running")
    container = state.nodes[name]
    count = len(e.data.items)
    container.instances, container.items = count, e.data.items
    for index in range(count):  # a fresh instance per item, in the map's pass
        state.nodes[instance(name, index)] = NodeState(iteration=container.iteration)
    index = count
    while state.nodes.pop(instance(name, index), None) is not None:  # a longer pass before
        index += 1


def _child_started(state: RunState, e: ev.ChildStarted) -> None:
    _node(state, e).child_run = e.data.child_run


def _replayed_from(state: RunState, e: ev.ReplayedFrom) -> None:
    # the fork is a new run: it was created and started now, whatever it copied
    state.run_id = e.run_id
    state.created_at = e.ts
    state.started_at = e.ts
    state.replayed_from = ReplayOrigin(
        source_run=e.data.source_run, from_step=e.data.from_step, from_seq=e.data.from_seq
    )
    state.ended_at = None
    state.error = None


_HANDLERS: dict[str, Callable[[RunState, Any], None]] = {
    "run_created": _run_created,
    "run_started": _run_started,
    "node_scheduled": _node_scheduled,
    "node_started": _node_started,
    "node_succeeded": _node_succeeded,
    "node_failed": _node_failed,
    "node_retrying": _node_retrying,
    "node_skipped": _node_skipped,
    "node_cancelled": _node_cancelled,
    "node_waiting": _node_waiting,
    "signal_received": _signal_received,
    "context_compiled": _context_compiled,
    "model_selected": _model_selected,
    "model_called": _model_called,
    "budget_exceeded": _budget_exceeded,
    "artifact_written": _artifact_written,
    "file_written": _file_written,
    "workspace_created": _workspace_created,
    "run_succeeded": _run_succeeded,
    "run_failed": _run_failed,
    "run_cancelled": _run_cancelled,
    "loop_iterated": _loop_iterated,
    "loop_exhausted": _loop_exhausted,
    "map_expanded": _map_expanded,
    "child_started": _child_started,
    "replayed_from": _replayed_from,
}


def evolve(state: RunState, event: ev.Envelope) -> RunState:
    """Apply one event to `state` (in place) and return it.

    The live runtime and `fold` both build state with this function only.
    """
    kind = event.type
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise InvalidEventError(f"evolve has no rule for event type {kind!r}")
    if event.seq != state.last_seq + 1:
        raise InvalidEventError(f"event seq {event.seq} does not follow {state.last_seq}")
    handler(state, event)
    if state.waiting or state.status == "waiting":
        _derive_status(state)
    state.last_seq = event.seq
    state.updated_at = event.ts
    return state


#: the events that can be a node's first
_STARTS = frozenset({"node_scheduled", "node_started", "node_waiting", "map_expanded"})


def starts_step(event: ev.Envelope, step: str) -> bool:
    """Whether `event` is the first sign of node `step` starting; `writer#2` is the
    second pass of node `writer` in a loop."""
    if event.type not in _STARTS:
        return False
    name, iteration = split_step(step)
    if iteration is not None:
        return event.node == name and (event.iteration or 1) == iteration
    return event.node == step


class Folding:
    """A fold in progress, fed one event at a time, that stops at `upto`.

    `upto` is a seq (the state after it) or a node name (the state just before that
    node first started); None folds every event.
    """

    def __init__(self, upto: int | str | None = None) -> None:
        self.state = RunState()
        self.upto = upto
        self.reached = False

    def feed(self, event: ev.Envelope) -> bool:
        """Apply `event` unless the fold has reached `upto`; False once it has."""
        upto = self.upto
        if (isinstance(upto, int) and event.seq > upto) or (
            isinstance(upto, str) and starts_step(event, upto)
        ):
            self.reached = True
            return False
        evolve(self.state, event)
        return True

    def result(self, run_id: str | None = None) -> RunState:
        """The folded state; UnknownStepError when the log never reached `upto`."""
        state, upto = self.state, self.upto
        name = run_id or state.run_id or "?"
        if isinstance(upto, str) and not self.reached:
            raise UnknownStepError(f"run {name} never started step {upto!r}")
        if isinstance(upto, int) and not 1 <= upto <= state.last_seq:
            raise UnknownStepError(f"run {name} has no seq {upto} (last is {state.last_seq})")
        return state


def fold(events: Iterable[ev.Envelope], upto: int | str | None = None) -> RunState:
    """The state after the events with seq <= upto (an int), or just before node `upto`
    (a str) first started; every event when upto is None."""
    folding = Folding(upto)
    for event in events:
        if not folding.feed(event):
            break
    return folding.result()


# fields that say how and when a run happened rather than what it is
_IDENTITY = {
    "run_id",
    "created_at",
    "started_at",
    "ended_at",
    "updated_at",
    "last_seq",
    "replayed_from",
}
_NODE_IDENTITY = {"started_at", "ended_at", "first_seq", "attempts", "duration_ms"}


def canonical(state: RunState) -> dict[str, Any]:
    """The state without identity and timing, for comparing what two runs are."""
    data = state.model_dump(mode="json", exclude=_IDENTITY)
    for key in ("waiting", "signals"):  # absent from runs without waits (older logs too)
        if not data[key]:
            del data[key]
    if data["parent"] is None:
        del data["parent"]
    if not data["graphs"]:
        del data["graphs"]
    for waited in data.get("waiting", {}).values():
        waited.pop("since", None)
    for node in data["nodes"].values():
        for key in _NODE_IDENTITY:
            node.pop(key, None)
        if node["iteration"] == 1 and node["previous_output"] is None:
            del node["iteration"], node["previous_output"]  # no loop: as before loops
        for key in ("instances", "items", "child_run"):  # no map, no child: as before
            if node[key] is None:
                del node[key]
    for f in data["workspace"].values():
        f.pop("seq", None)
    return data


def state_hash(state: RunState) -> str:
    """A sha256 of the canonical state: equal hashes mean equal runs, whatever their ids."""
    blob = orjson.dumps(canonical(state), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()
