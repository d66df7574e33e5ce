"""What a run does next: the pure rules for starting, skipping and finishing nodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agentos.graphs.topology import Topology
from agentos.state.run_state import FINISHED_NODE, NodeState, RunState

ACTIVE_NODE = frozenset({"scheduled", "running", "retrying"})
ENDABLE_NODE = ACTIVE_NODE | {"waiting"}  # the nodes a run's end cancels


@dataclass
class Plan:
    """Nodes to start and to skip, and whether the run is then finished."""

    start: list[str] = field(default_factory=list)
    skip: list[tuple[str, str]] = field(default_factory=list)
    finished: bool = False


def _edge(status: str, node: NodeState, target: str) -> bool | None:
    """Whether an edge from a node in `status` to `target` is taken; None while unfinished."""
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
    nodes = state.nodes
    decided: dict[str, str] = {}  # statuses this plan gives, seen by later nodes
    finished = True
    for name in topo.order:
        status = nodes[name].status
        if status != "pending":
            finished = finished and status in FINISHED_NODE
            continue
        preds = topo.predecessors(name)
        taken = not preds
        ready = True
        for pred in preds:
            edge = _edge(decided.get(pred) or nodes[pred].status, nodes[pred], name)
            if edge is None:
                ready = False
                break
            taken = taken or edge
        if not ready:
            finished = False
        elif taken:
            result.start.append(name)
            decided[name] = "scheduled"
            finished = False
        else:
            result.skip.append((name, _skip_reason(nodes, preds, decided)))
            decided[name] = "skipped"
    result.finished = finished
    return result


def _skip_reason(
    nodes: Mapping[str, NodeState], preds: tuple[str, ...], decided: Mapping[str, str]
) -> str:
    chose = [p for p in preds if (decided.get(p) or nodes[p].status) == "succeeded"]
    if chose:
        return f"not chosen by {', '.join(chose)}"
    return f"upstream {', '.join(preds)} did not run"


def interrupted(state: RunState) -> list[str]:
    """Nodes that had started or were scheduled but did not finish (after a crash); a
    map node is not one (its instances are)."""
    return [
        name
        for name, node in state.nodes.items()
        if node.status in ACTIVE_NODE and node.instances is None
    ]
