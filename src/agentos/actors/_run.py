"""The supervisor's record of one live run, and how it emits events into a batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentos.actors.messages import Fact, Reply
from agentos.events import model as ev
from agentos.events.model import utcnow
from agentos.graphs.policy import Policy
from agentos.graphs.spec import GraphSpec
from agentos.graphs.topology import Topology
from agentos.state.fold import evolve
from agentos.state.run_state import RunState


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
    inbox: list[Fact] = field(default_factory=list)
    batch: list[ev.Envelope] = field(default_factory=list)
    in_flight: list[ev.Envelope] = field(default_factory=list)
    after_ack: list[Callable[[], None]] = field(default_factory=list)
    waiters: list[Reply] = field(default_factory=list)
    queries: list[Reply] = field(default_factory=list)
    pending: list[Reply] = field(default_factory=list)  # answered by `after_ack` actions
    _policies: dict[str, Policy] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.state.run_id

    def policy(self, node: str) -> Policy:
        """The node's resolved policy (cached)."""
        found = self._policies.get(node)
        if found is None:
            found = self._policies[node] = self.spec.policy_for(node)
        return found

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
        self.batch.append(event)
        return event

    def emit_run_created(self, run_id: str, inputs: dict[str, Any], budget: Any) -> None:
        """The first event of a run (the state has no run id before it)."""
        self.state.run_id = run_id
        event = ev.RunCreated(
            seq=1,
            run_id=run_id,
            ts=utcnow(),
            data=ev.RunCreatedData(
                graph=self.spec.name,
                spec=self.spec.model_dump(mode="json"),
                inputs=inputs,
                budget=budget,
            ),
        )
        evolve(self.state, event)
        self.batch.append(event)
