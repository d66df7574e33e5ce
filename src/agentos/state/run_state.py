"""RunState: what a run is at a given step, as folded from its events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentos._addresses import node_of

RunStatus = Literal["pending", "running", "waiting", "succeeded", "failed", "cancelled"]
NodeStatus = Literal[
    "pending",
    "scheduled",
    "running",
    "retrying",
    "waiting",
    "succeeded",
    "failed",
    "skipped",
    "cancelled",
]
FINISHED_NODE = frozenset({"succeeded", "failed", "skipped", "cancelled"})
FINISHED_RUN = frozenset({"succeeded", "failed", "cancelled"})


# the per-node records are plain dataclasses: `evolve` sets their fields on every event,
# and pydantic still validates and serializes them as fields of RunState


@dataclass(slots=True)
class Usage:
    """Model usage: calls, tokens in and out, cost."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0


@dataclass(slots=True)
class NodeState:
    """One node of a run."""

    status: NodeStatus = "pending"
    attempts: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    first_seq: int | None = None
    output: dict[str, Any] | None = None
    next: list[str] | None = None
    error: str | None = None
    skip_reason: str | None = None
    manifest: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    duration_ms: float = 0.0
    iteration: int = 1  # the loop pass it is in (`writer#2`)
    previous_output: dict[str, Any] | None = None  # its output in the pass before
    instances: int | None = None  # a map node's count of instances, once expanded
    items: list[Any] | None = None  # the items a map node expanded to
    child_run: str | None = None  # the child run a graph node runs


@dataclass(slots=True)
class Waiting:
    """What a waiting node waits for: a signal's name, since when."""

    signal: str
    since: datetime
    timeout: float | None = None


class ParentLink(BaseModel):
    """The run and node that started a child run."""

    run_id: str
    node: str


class ReplayOrigin(BaseModel):
    """Where a replayed run was forked from."""

    source_run: str
    from_step: str
    from_seq: int


@dataclass(slots=True)
class WorkspaceFile:
    """A workspace file written by the run: its hash and size, and the seq that wrote it."""

    sha256: str | None
    size: int
    seq: int
    deleted: bool = False


class RunState(BaseModel):
    """The folded state of one run."""

    run_id: str = ""
    graph: str = ""
    spec: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    budget: dict[str, Any] | None = None
    status: RunStatus = "pending"
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    nodes: dict[str, NodeState] = Field(default_factory=dict)
    artifacts: dict[str, str] = Field(default_factory=dict)
    workspace_base: str | None = None
    workspace_source: str | None = None
    workspace: dict[str, WorkspaceFile] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    budget_action: Literal["fail", "downgrade"] | None = None
    replayed_from: ReplayOrigin | None = None
    parent: ParentLink | None = None
    graphs: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="the specs of the graphs its graph nodes run"
    )
    waiting: dict[str, Waiting] = Field(
        default_factory=dict, description="the nodes waiting for a signal, by node"
    )
    signals: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="payloads of signals received but not yet taken"
    )
    last_seq: int = 0
    updated_at: datetime | None = None

    @property
    def finished(self) -> bool:
        """Whether the run has reached a final status."""
        return self.status in FINISHED_RUN

    def ordered_nodes(self) -> list[tuple[str, NodeState]]:
        """The nodes in graph order, each map's instances right after their node."""
        instances: dict[str, list[tuple[str, NodeState]]] = {}
        for name, node in self.nodes.items():
            if "[" in name:
                instances.setdefault(node_of(name), []).append((name, node))
        ordered: list[tuple[str, NodeState]] = []
        for name, node in self.nodes.items():
            if "[" not in name:
                ordered += [(name, node), *instances.get(name, ())]
        return ordered

    def duration_s(self) -> float | None:
        """Seconds from start to end (or to the last event while running)."""
        end = self.ended_at or self.updated_at
        if self.started_at is None or end is None:
            return None
        return (end - self.started_at).total_seconds()
