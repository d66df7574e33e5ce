"""Map nodes, pure: the list a map expands to, which instances start next, and the
join of their outputs once every instance has settled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentos._addresses import instance
from agentos.graphs.spec import MAX_MAP_ITEMS
from agentos.graphs.topology import Topology
from agentos.state.run_state import FINISHED_NODE, RunState

_ACTIVE = frozenset({"scheduled", "running", "retrying"})


@dataclass(frozen=True)
class Expansion:
    """What a map node does when it becomes ready: expand to `items`, or fail with
    `error`; an empty list skips it."""

    source: str
    items: list[Any] | None = None
    error: str | None = None


@dataclass
class MapStep:
    """The instances to start now, and the join's output once all have settled."""

    start: list[str] = field(default_factory=list)
    joined: dict[str, Any] | None = None


def expansion(state: RunState, topo: Topology, name: str) -> Expansion:
    """The list at the map's source (`planner.questions`) or why there is none."""
    node, key = topo.maps[name]
    ref = f"{node}.{key}"
    source = state.nodes[node]
    output = source.output if source.status == "succeeded" else None
    if output is None:
        return Expansion(ref, error=f"map {ref}: {node} has no output ({source.status})")
    items = output.get(key)
    if key not in output:
        return Expansion(ref, error=f"map {ref}: the output of {node} has no field {key!r}")
    if not isinstance(items, list):
        kind = type(items).__name__
        return Expansion(ref, error=f"map {ref}: expected a list, got {kind}")
    if len(items) > MAX_MAP_ITEMS:
        return Expansion(ref, error=f"map {ref}: {len(items)} items (at most {MAX_MAP_ITEMS})")
    return Expansion(ref, items=items)


def map_step(state: RunState, topo: Topology, name: str) -> MapStep:
    """For an expanded map: the pending instances that may start within `max_parallel`
    (in item order), or the join when every instance has settled."""
    step = MapStep()
    container = state.nodes[name]
    count = container.instances
    if container.status != "running" or count is None:
        return step
    cap = topo.node(name).max_parallel or count
    active, settled = 0, 0
    pending: list[str] = []
    for index in range(count):
        status = state.nodes[instance(name, index)].status
        if status in _ACTIVE:
            active += 1
        elif status in FINISHED_NODE:
            settled += 1
        elif status == "pending" and len(pending) < cap:
            pending.append(instance(name, index))
    step.start = pending[: max(0, cap - active)]
    if settled == count:
        step.joined = joined(state, name, count)
    return step


def joined(state: RunState, name: str, count: int) -> dict[str, Any]:
    """The map node's output: `items`, the instances' outputs in item order (a failed
    one as `{"failed": true, "index": i, "error": ...}`), and the `failed` indexes."""
    items: list[Any] = []
    failed: list[int] = []
    for index in range(count):
        node = state.nodes[instance(name, index)]
        if node.status == "succeeded":
            items.append(node.output if node.output is not None else {})
        else:
            failed.append(index)
            items.append({"failed": True, "index": index, "error": node.error or node.status})
    return {"items": items, "failed": failed}


def map_outputs(output: dict[str, Any] | None) -> Any:
    """What a map node's successors see as its output: the list of its items."""
    return output.get("items", []) if output is not None else None
