"""The event model: one typed pydantic model per event type inside a common envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from agentos.events.limits import MAX_INT, Int64, JsonDict, JsonList

SCHEMA_VERSION = 1
# finite floats only; a non-finite one that slips in is written as `Infinity`, which
# every reader refuses, never as a silent `null`
_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, ser_json_inf_nan="constants")


class _Data(BaseModel):
    model_config = _CONFIG


class Envelope(BaseModel):
    """Fields every event carries: `seq` is 1-based and contiguous per run; `type` is
    narrowed to one literal by each event type (declared last, so it stays after
    `attempt` in the JSON)."""

    model_config = _CONFIG

    v: Int64 = SCHEMA_VERSION
    seq: int = Field(ge=1, le=MAX_INT)
    run_id: str
    ts: datetime
    node: str | None = None
    attempt: Int64 | None = None
    # the loop pass of the node's events after the first (`writer#2`); absent on pass 1
    iteration: Int64 | None = Field(default=None, exclude_if=lambda v: v is None)
    type: str


# data of each event type


class ParentData(_Data):
    run_id: str
    node: str


class RunCreatedData(_Data):
    graph: str
    spec: JsonDict
    inputs: JsonDict = Field(default_factory=dict)
    budget: JsonDict | None = None
    # the run and node that started this run as a child (`graph:`); absent otherwise
    parent: ParentData | None = Field(default=None, exclude_if=lambda v: v is None)
    # the graphs its `graph:` nodes run (and theirs), by name: a resume needs no catalog
    graphs: dict[str, JsonDict] | None = Field(default=None, exclude_if=lambda v: v is None)


class NoData(_Data):
    pass


class NodeSucceededData(_Data):
    output: JsonDict = Field(default_factory=dict)
    next: list[str] | None = None
    duration_ms: float = 0.0


class NodeFailedData(_Data):
    error: str
    error_type: str = "Error"
    final: bool = True
    duration_ms: float = 0.0


class NodeRetryingData(_Data):
    delay: float
    error: str


class ReasonData(_Data):
    reason: str = ""


class ContextCompiledData(_Data):
    profile: str
    manifest: JsonDict
    context_artifact: str | None = None


class ModelSelectedData(_Data):
    provider: str
    model: str
    reason: str
    candidates: list[JsonDict] = Field(default_factory=list)


class ModelCalledData(_Data):
    provider: str
    model: str
    tokens_in: int = Field(ge=0, le=MAX_INT)
    tokens_out: int = Field(ge=0, le=MAX_INT)
    cost: float = Field(ge=0)
    latency_ms: float = Field(ge=0)
    ok: bool = True
    error: str | None = None
    fallbacks: list[JsonDict] = Field(default_factory=list)
    waited_ms: float = Field(default=0.0, ge=0)  # a long wait for a free slot, else 0
    # recorded answers (absent in logs written before them): the request's digest, the
    # call's index in its attempt, the answer inline or as an artifact when large
    request_sha256: str | None = Field(default=None, exclude_if=lambda v: v is None)
    call: Int64 | None = Field(default=None, exclude_if=lambda v: v is None)
    response: JsonDict | None = Field(default=None, exclude_if=lambda v: v is None)
    response_artifact: str | None = Field(default=None, exclude_if=lambda v: v is None)
    # answered from a recorded answer: not sent, cost 0; `original` names that answer
    recorded: bool | None = Field(default=None, exclude_if=lambda v: v is None)
    original: JsonDict | None = Field(default=None, exclude_if=lambda v: v is None)


class BudgetExceededData(_Data):
    action: Literal["fail", "downgrade"]
    reason: str
    tokens: Int64
    cost: float


class ArtifactWrittenData(_Data):
    name: str
    sha256: str
    size: Int64


class FileWrittenData(_Data):
    path: str
    op: Literal["write", "delete"] = "write"
    content: str | None = None
    sha256: str | None = None
    size: Int64 = 0


class WorkspaceCreatedData(_Data):
    source: str
    artifact: str
    files: dict[str, str] = Field(default_factory=dict)


class RunFailedData(_Data):
    error: str
    node: str | None = None


class NodeWaitingData(_Data):
    signal: str
    timeout: float | None = None


class SignalReceivedData(_Data):
    name: str
    payload: JsonDict = Field(default_factory=dict)


class LoopIteratedData(_Data):
    to: str
    iteration: Int64  # the pass that starts now, 2 or more
    body: list[str]
    max_iterations: Int64


class LoopExhaustedData(_Data):
    to: str
    max_iterations: Int64
    reason: str


class MapExpandedData(_Data):
    source: str  # NODE.FIELD
    items: JsonList


class ChildStartedData(_Data):
    child_run: str
    graph: str


class ReplayedFromData(_Data):
    source_run: str
    from_step: str
    from_seq: Int64


# the event types


class RunCreated(Envelope):
    type: Literal["run_created"] = "run_created"
    data: RunCreatedData


class RunStarted(Envelope):
    type: Literal["run_started"] = "run_started"
    data: NoData = NoData()


class NodeScheduled(Envelope):
    type: Literal["node_scheduled"] = "node_scheduled"
    data: NoData = NoData()


class NodeStarted(Envelope):
    type: Literal["node_started"] = "node_started"
    data: NoData = NoData()


class NodeSucceeded(Envelope):
    type: Literal["node_succeeded"] = "node_succeeded"
    data: NodeSucceededData


class NodeFailed(Envelope):
    type: Literal["node_failed"] = "node_failed"
    data: NodeFailedData


class NodeRetrying(Envelope):
    type: Literal["node_retrying"] = "node_retrying"
    data: NodeRetryingData


class NodeSkipped(Envelope):
    type: Literal["node_skipped"] = "node_skipped"
    data: ReasonData


class NodeCancelled(Envelope):
    type: Literal["node_cancelled"] = "node_cancelled"
    data: ReasonData


class NodeWaiting(Envelope):
    """A wait node waits for the signal `data.signal` (its attempt, no agent)."""

    type: Literal["node_waiting"] = "node_waiting"
    data: NodeWaitingData


class SignalReceived(Envelope):
    """A signal arrived: `node` is the waiting node that takes it, None while it is kept."""

    type: Literal["signal_received"] = "signal_received"
    data: SignalReceivedData


class ContextCompiled(Envelope):
    type: Literal["context_compiled"] = "context_compiled"
    data: ContextCompiledData


class ModelSelected(Envelope):
    type: Literal["model_selected"] = "model_selected"
    data: ModelSelectedData


class ModelCalled(Envelope):
    type: Literal["model_called"] = "model_called"
    data: ModelCalledData


class BudgetExceeded(Envelope):
    type: Literal["budget_exceeded"] = "budget_exceeded"
    data: BudgetExceededData


class ArtifactWritten(Envelope):
    type: Literal["artifact_written"] = "artifact_written"
    data: ArtifactWrittenData


class FileWritten(Envelope):
    type: Literal["file_written"] = "file_written"
    data: FileWrittenData


class WorkspaceCreated(Envelope):
    type: Literal["workspace_created"] = "workspace_created"
    data: WorkspaceCreatedData


class RunSucceeded(Envelope):
    type: Literal["run_succeeded"] = "run_succeeded"
    data: NoData = NoData()


class RunFailed(Envelope):
    type: Literal["run_failed"] = "run_failed"
    data: RunFailedData


class RunCancelled(Envelope):
    type: Literal["run_cancelled"] = "run_cancelled"
    data: ReasonData


class LoopIterated(Envelope):
    """The loop decider `node` chose its loop's target: the body runs again as pass
    `data.iteration`, and sees the outputs of the pass before."""

    type: Literal["loop_iterated"] = "loop_iterated"
    data: LoopIteratedData


class LoopExhausted(Envelope):
    """The decider chose its loop's target after the last pass: its other successors
    run instead, or the run fails."""

    type: Literal["loop_exhausted"] = "loop_exhausted"
    data: LoopExhaustedData


class MapExpanded(Envelope):
    """Map node `node` takes the list at `data.source`: one instance per item,
    `node[0]`, `node[1]`, ... (an empty list skips the node instead)."""

    type: Literal["map_expanded"] = "map_expanded"
    data: MapExpandedData


class ChildStarted(Envelope):
    """Node `node` runs graph `data.graph` as the child run `data.child_run`."""

    type: Literal["child_started"] = "child_started"
    data: ChildStartedData


class ReplayedFrom(Envelope):
    type: Literal["replayed_from"] = "replayed_from"
    data: ReplayedFromData


Event = Annotated[
    RunCreated
    | RunStarted
    | NodeScheduled
    | NodeStarted
    | NodeSucceeded
    | NodeFailed
    | NodeRetrying
    | NodeSkipped
    | NodeCancelled
    | NodeWaiting
    | SignalReceived
    | ContextCompiled
    | ModelSelected
    | ModelCalled
    | BudgetExceeded
    | ArtifactWritten
    | FileWritten
    | WorkspaceCreated
    | RunSucceeded
    | RunFailed
    | RunCancelled
    | LoopIterated
    | LoopExhausted
    | MapExpanded
    | ChildStarted
    | ReplayedFrom,
    Field(discriminator="type"),
]

#: every event type by its `type`, in the order of the `Event` union
EVENT_TYPES: dict[str, type[Envelope]] = {
    cls.model_fields["type"].default: cls for cls in get_args(get_args(Event)[0])
}

TERMINAL_TYPES = frozenset({"run_succeeded", "run_failed", "run_cancelled"})


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
