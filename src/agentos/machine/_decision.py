"""The decision a run machine builds: events applied to the state as they are made,
and effects, taken out once per fact (`DecisionBuilder`, the base of `RunMachine`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from agentos.events import model as ev
from agentos.graphs.topology import Topology
from agentos.machine.effects import (
    CancelAttempts,
    CancelChildren,
    Decision,
    Dispatch,
    Effect,
    Finished,
    Prepare,
    SlotFreed,
    StartChild,
)
from agentos.machine.plan import ENDABLE_NODE
from agentos.machine.slots import NodeSlots
from agentos.state.fold import evolve
from agentos.state.run_state import RunState

Clock = Callable[[], datetime]

#: events that settle a node: only after one can the plan of a run change
SETTLING = frozenset(
    {
        ev.NodeSucceeded,
        ev.NodeFailed,
        ev.NodeSkipped,
        ev.NodeCancelled,
        ev.LoopIterated,
        ev.MapExpanded,
    }
)


class DecisionBuilder:
    """Emits events (evolving `state` with each) and collects effects for one fact."""

    def __init__(self, state: RunState, topo: Topology, slots: NodeSlots, clock: Clock) -> None:
        self.state = state
        self.topo = topo
        self.slots = slots
        self.clock = clock
        self._replan = True  # a node settled since the last plan
        self._out = Decision()

    @property
    def run_id(self) -> str:
        return self.state.run_id

    def _end(self, cls: type[ev.Envelope], **data: Any) -> None:
        """Cancel what is still active and end the run with `cls`."""
        active = [n for n, s in self.state.nodes.items() if s.status in ENDABLE_NODE]
        for name in active:
            node = self.state.nodes[name]
            if node.status == "running" and node.instances is None:  # a map holds no slot
                self._release(name)
        self.slots.forget(self.run_id)
        reason = f"run ended ({cls.model_fields['type'].default})"
        children = tuple(c for n in active if (c := self.state.nodes[n].child_run) is not None)
        for name in active:
            self._emit(ev.NodeCancelled, name, reason=reason)
        self._emit(cls, **data)
        if active:
            self._effect(CancelAttempts(self.run_id, tuple(active)))
        if children:
            self._effect(CancelChildren(children, f"parent run {self.run_id} ended"))

    def _release(self, name: str) -> None:
        key = self.topo.node(name).name  # a map's instances share their node's slots
        if self.slots.release(key):
            self._effect(SlotFreed(key))

    def _emit(
        self,
        cls: type[ev.Envelope],
        node: str | None = None,
        attempt: int | None = None,
        **data: Any,
    ) -> None:
        """Create the next event, apply it to the state and add it to the decision."""
        fields: dict[str, Any] = {
            "seq": self.state.last_seq + 1,
            "run_id": self.state.run_id,
            "ts": self.clock(),
            "node": node,
            "attempt": attempt,
        }
        state = self.state.nodes.get(node) if node is not None else None
        if state is not None and state.iteration > 1:
            fields["iteration"] = state.iteration
        if data:
            fields["data"] = data
        self._append(cls(**fields))
        if cls in SETTLING:
            self._replan = True

    def _append(self, event: ev.Envelope) -> None:
        evolve(self.state, event)
        self._out.events.append(event)

    def _effect(self, effect: Effect) -> None:
        self._out.effects.append(effect)

    def _take(self) -> Decision:
        out, self._out = self._out, Decision()
        # an attempt started and ended in one decision (the run failed meanwhile) is never
        # handed to an agent: the log says it was cancelled
        out.effects = [e for e in out.effects if not self._superseded(e)]
        if self.state.finished:
            out.effects.append(Finished(self.run_id))
        return out

    def _superseded(self, effect: Effect) -> bool:
        if not isinstance(effect, Dispatch | Prepare | StartChild):
            return False
        node = self.state.nodes[effect.node]
        return node.status != "running" or node.attempts != effect.attempt
