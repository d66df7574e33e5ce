"""Building run machines for decision tests: a graph, a fixed clock, shared slots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from agentos.events.model import Envelope
from agentos.graphs.load import load_graph
from agentos.graphs.spec import GraphSpec, resolve
from agentos.graphs.topology import Topology
from agentos.machine.effects import Decision, Dispatch, Effect
from agentos.machine.facts import NodeDone, Start
from agentos.machine.run_machine import RunMachine
from agentos.machine.slots import NodeSlots
from agentos.state.fold import fold

T0 = datetime(2026, 12, 2, tzinfo=UTC)


def ticking() -> Iterator[datetime]:
    n = 0
    while True:
        yield T0 + timedelta(milliseconds=n)
        n += 1


class Clock:
    """A clock that moves 1 ms per reading: deterministic timestamps."""

    def __init__(self) -> None:
        self._ticks = ticking()

    def __call__(self) -> datetime:
        return next(self._ticks)


def spec_of(doc: dict[str, Any]) -> GraphSpec:
    return resolve(load_graph(doc), {}, {})


def fan_graph(**node_extra: Any) -> dict[str, Any]:
    """planner -> (a, b, c) -> join -> last."""
    after = {"a": ["planner"], "b": ["planner"], "c": ["planner"], "join": ["a", "b", "c"]}
    after["last"] = ["join"]
    names = ["planner", "a", "b", "c", "join", "last"]
    return {
        "name": "fan",
        "nodes": [
            {"name": n, "agent": "x:y", "after": after.get(n, []), **node_extra} for n in names
        ],
    }


class Driven:
    """A machine and every event it decided so far (the log it would have written)."""

    def __init__(
        self,
        doc: dict[str, Any],
        run_id: str = "r1",
        slots: NodeSlots | None = None,
        budget: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        spec = spec_of(doc)
        self.slots = slots if slots is not None else NodeSlots()
        fact = Start(run_id, inputs or {}, budget, None, reply=f"start:{run_id}")
        self.topo = Topology(spec)
        self.machine, first = RunMachine.start(fact, spec, self.topo, self.slots, Clock())
        self.log: list[Envelope] = []
        self.last = self._keep(first)

    def _keep(self, decision: Decision) -> Decision:
        self.log += decision.events
        return decision

    def handle(self, fact: Any) -> Decision:
        self.last = self._keep(self.machine.handle(fact))
        return self.last

    def done(self, node: str, attempt: int = 1, ok: bool = True, **kw: Any) -> Decision:
        """The machine's decision on an attempt's outcome."""
        return self.handle(NodeDone(self.machine.run_id, node, attempt, ok, **kw))

    def folded_matches(self) -> bool:
        return fold(self.log).model_dump() == self.machine.state.model_dump()


def kinds(decision: Decision) -> list[tuple[str, str | None]]:
    """(type, node) of each event of a decision."""
    return [(str(getattr(e, "type")), e.node) for e in decision.events]  # noqa: B009


def of(decision: Decision, cls: type[Effect]) -> list[Any]:
    return [e for e in decision.effects if isinstance(e, cls)]


def dispatched(decision: Decision) -> list[tuple[str, int]]:
    return [(d.node, d.attempt) for d in of(decision, Dispatch)]
