"""What a run does next: the pure rules for starting, skipping and finishing nodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agentos.graphs.topology import Topology
from agentos.state.run_state import FINISHED_NODE, NodeState, RunState

ACTIVE_NODE = frozenset({"scheduled", "running", "retrying"})


@dataclass
class Plan:
    """Nodes to start and to skip, and whether the run is then finished."""

    start: list[str] = field(default_factory=list)
    skip: list[tuple[str, str]] = field(default_factory=list)
    finished: bool = False


def _edge(pred: str, status: str, node: NodeState, target: str) -> bool | None:
    """Whether the edge pred -> target is taken; None while pred is unfinished."""
    if status == "succeeded":
        return node.next is None or target in node.next
    if status == "failed":
        return True  # a failure that did not end the run: the successor sees it and decides
    if status in ("skipped", "cancelled"):
        return False
    return None


def plan(state: RunState, topo: Topology) -> Plan:
    """Decide, from the state alone, which pending nodes start or are skipped.

    A node starts once every upstream node has finished and at least one edge into it is
    taken; it is skipped when no edge into it can be taken any more (its upstream nodes
    were skipped, or chose other successors).
    """
    result = Plan()
    status = {name: node.status for name, node in state.nodes.items()}
    for name in topo.order:
        if status.get(name) != "pending":
            continue
        preds = topo.predecessors(name)
        edges = [_edge(p, status[p], state.nodes[p], name) for p in preds]
        if any(e is None for e in edges):
            continue
        if not preds or any(edges):
            result.start.append(name)
            status[name] = "scheduled"
        else:
            result.skip.append((name, _skip_reason(state, preds, status)))
            status[name] = "skipped"
    result.finished = all(s in FINISHED_NODE for s in status.values())
    return result


def _skip_reason(state: RunState, preds: tuple[str, ...], status: Mapping[str, str]) -> str:
    chose = [p for p in preds if status[p] == "succeeded"]
    if chose:
        return f"not chosen by {', '.join(chose)}"
    return f"upstream {', '.join(preds)} did not run"


def interrupted(state: RunState) -> list[str]:
    """Nodes that had started or were scheduled but did not finish (after a crash)."""
    return [name for name, node in state.nodes.items() if node.status in ACTIVE_NODE]
