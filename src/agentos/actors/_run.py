"""The supervisor's record of one live run, and how it emits events into a batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentos.actors.messages import Fact, NodeDone, Reply, StartRun
from agentos.actors.scheduler import ACTIVE_NODE, interrupted
from agentos.events import model as ev
from agentos.events.model import utcnow
from agentos.graphs.policy import Policy
from agentos.graphs.spec import GraphSpec
from agentos.graphs.topology import Topology
from agentos.state.fold import evolve
from agentos.state.run_state import RunState

#: events that settle a node: only after one can the plan of a run change
_SETTLING = frozenset({ev.NodeSucceeded, ev.NodeFailed, ev.NodeSkipped, ev.NodeCancelled})


@dataclass
class LiveRun:
    """A run the supervisor is driving; `state` is only ever changed through `evolve`."""

    state: RunState
    spec: GraphSpec
    topo: Topology
    workspace_root: str | None = None
    artifacts: dict[str, Any] = field(default_factory=dict)
    max_tier: int | None = None
    busy: bool = False  # an append is in flight: new facts wait in `inbox`
    replan: bool = True  # a node settled since the last plan (see `scheduler.plan`)
    inbox: list[Fact] = field(default_factory=list)
    batch: list[ev.Envelope] = field(default_factory=list)
    in_flight: list[ev.Envelope] = field(default_factory=list)
    after_ack: list[Callable[[], None]] = field(default_factory=list)
    waiters: list[Reply] = field(default_factory=list)
    queries: list[Reply] = field(default_factory=list)
    pending: list[Reply] = field(default_factory=list)  # answered by `after_ack` actions

    @property
    def run_id(self) -> str:
        return self.state.run_id

    def policy(self, node: str) -> Policy:
        """The node's resolved policy."""
        return self.topo.policy(node)

    def emit(
        self,
        cls: type[ev.Envelope],
        node: str | None = None,
        attempt: int | None = None,
        **data: Any,
    ) -> ev.Envelope:
        """Create the next event, apply it to the state and add it to the open batch."""
        fields: dict[str, Any] = {
            "seq": self.state.last_seq + 1,
            "run_id": self.state.run_id,
            "ts": utcnow(),
            "node": node,
            "attempt": attempt,
        }
        if data:
            fields["data"] = data
        event = cls(**fields)
        evolve(self.state, event)
        if cls in _SETTLING:
            self.replan = True
        self.batch.append(event)
        return event

    @classmethod
    def created(cls, spec: GraphSpec, topo: Topology, msg: StartRun) -> LiveRun:
        """A new run with its first events: created, workspace (if any), started."""
        run = cls(state=RunState(run_id=msg.run_id), spec=spec, topo=topo)
        event = ev.RunCreated(
            seq=1,
            run_id=msg.run_id,
            ts=utcnow(),
            data=ev.RunCreatedData(
                graph=spec.name,
                spec=topo.spec_doc,
                inputs=msg.inputs,
                budget=msg.budget,
            ),
        )
        evolve(run.state, event)
        run.batch.append(event)
        if msg.workspace is not None:
            run.workspace_root = msg.workspace.root
            run.emit(
                ev.WorkspaceCreated,
                source=msg.workspace.source,
                artifact=msg.workspace.artifact,
                files=msg.workspace.files,
            )
        run.emit(ev.RunStarted)
        return run

    def mark_interrupted(self) -> list[tuple[str, int]]:
        """After a crash: record the attempts that never finished; (node, next attempt)."""
        if self.state.status == "pending":
            self.emit(ev.RunStarted)
        again = []
        for name in interrupted(self.state):
            attempt = self.state.nodes[name].attempts + 1
            if self.state.nodes[name].status == "running":
                self.emit(
                    ev.NodeRetrying,
                    name,
                    attempt - 1,
                    delay=0.0,
                    error="interrupted: the attempt did not finish before the process stopped",
                )
            again.append((name, attempt))
        return again

    def end(self, cls: type[ev.Envelope], **data: Any) -> tuple[list[str], list[str]]:
        """Cancel every active node, then end the run with `cls`; (active, running) nodes."""
        active = [n for n, s in self.state.nodes.items() if s.status in ACTIVE_NODE]
        running = [n for n in active if self.state.nodes[n].status == "running"]
        reason = f"run ended ({cls.model_fields['type'].default})"
        for name in active:
            self.emit(ev.NodeCancelled, name, reason=reason)
        self.emit(cls, **data)
        return active, running

    def record(self, done: NodeDone) -> bool:
        """Record an attempt's artifacts, file writes and success; False when it failed
        (an agent's error, or successors chosen that the node does not have)."""
        for name, meta in done.artifacts.items():
            self.emit(ev.ArtifactWritten, done.node, done.attempt, name=name, **meta)
        for write in done.writes:
            self.emit(ev.FileWritten, done.node, done.attempt, **write.model_dump())
        if done.ok and done.next is not None:
            unknown = sorted(set(done.next) - set(self.topo.successors(done.node)))
            if unknown:
                done.ok, done.error_type = False, "ValueError"
                done.error = f"chose {unknown}, which are not successors of {done.node!r}"
        if done.ok:
            self.emit(
                ev.NodeSucceeded,
                done.node,
                done.attempt,
                output=done.output,
                next=done.next,
                duration_ms=done.duration_ms,
            )
        return done.ok
