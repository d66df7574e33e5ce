"""The shape of a valid graph: roots, edges, a deterministic order, reachability."""

from __future__ import annotations

import heapq
from functools import cached_property
from typing import Any

from agentos._addresses import index_of, node_of, split_map
from agentos.graphs.policy import Policy
from agentos.graphs.spec import GraphSpec, LoopSpec, NodeSpec
from agentos.graphs.validate import GraphProblem, GraphValidationError


class Topology:
    """Edges and orders of a graph, and its nodes and policies by name, computed once;
    the graph of `after` edges must be acyclic (a `loop` is a back edge outside it)."""

    def __init__(self, spec: GraphSpec) -> None:
        self._spec = spec
        self._nodes = {n.name: n for n in spec.nodes}
        self._policies: dict[str, Policy] = {}
        names = [n.name for n in spec.nodes]
        rank = {name: i for i, name in enumerate(names)}
        if len(rank) != len(names):
            raise GraphValidationError([GraphProblem("nodes", "duplicate node names")])
        preds: dict[str, tuple[str, ...]] = {}
        succs: dict[str, list[str]] = {name: [] for name in names}
        for node in spec.nodes:
            unknown = [d for d in node.after if d not in rank]
            if unknown:
                problem = GraphProblem(f"node {node.name!r}", f"unknown dependencies {unknown}")
                raise GraphValidationError([problem])
            preds[node.name] = tuple(dict.fromkeys(node.after))
            for dep in preds[node.name]:
                succs[dep].append(node.name)
        self._rank = rank
        self._preds = preds
        self._succs = {n: tuple(sorted(s, key=rank.__getitem__)) for n, s in succs.items()}
        self.roots: tuple[str, ...] = tuple(n for n in names if not preds[n])
        self.leaves: tuple[str, ...] = tuple(n for n in names if not self._succs[n])
        self.order: tuple[str, ...] = self._sort()
        if len(self.order) != len(names):
            stuck = [n for n in names if n not in set(self.order)]
            raise GraphValidationError([GraphProblem("nodes", f"cycle among {stuck}")])
        self.loops: dict[str, LoopSpec] = {n.name: n.loop for n in spec.nodes if n.loop}
        known = frozenset(names)
        #: each map node's source: (node, field of its output)
        self.maps: dict[str, tuple[str, str]] = {
            n.name: found for n in spec.nodes if n.map and (found := split_map(n.map, known))
        }
        self._bodies = {name: self._body(name, loop) for name, loop in self.loops.items()}
        for node in spec.nodes:
            source = self.maps.get(node.name)
            if node.map and (source is None or source[0] not in self.upstream(node.name)):
                problem = GraphProblem(
                    f"node {node.name!r}", f"map {node.map!r} names no node it waits on"
                )
                raise GraphValidationError([problem])

    def _body(self, decider: str, loop: LoopSpec) -> tuple[str, ...]:
        if loop.to not in self.upstream(decider):
            problem = GraphProblem(
                f"node {decider!r}", f"loop target {loop.to!r} is not upstream of {decider!r}"
            )
            raise GraphValidationError([problem])
        inside = ({loop.to} | self.downstream(loop.to)) & (self.upstream(decider) | {decider})
        return tuple(n for n in self.order if n in inside)

    def _sort(self) -> tuple[str, ...]:
        waiting = {n: len(p) for n, p in self._preds.items()}
        ready = [self._rank[n] for n in self.roots]
        heapq.heapify(ready)
        names = list(self._rank)
        order: list[str] = []
        while ready:
            node = names[heapq.heappop(ready)]
            order.append(node)
            for s in self._succs[node]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(ready, self._rank[s])
        return tuple(order)

    @cached_property
    def spec_doc(self) -> dict[str, Any]:
        """The graph as JSON, as each run's `run_created` records it (do not mutate)."""
        return self._spec.model_dump(mode="json")

    def node(self, name: str) -> NodeSpec:
        """The node called `name`, or whose map instance it is (unlike `GraphSpec.node`)."""
        return self._nodes[self._known(name)]

    def policy(self, name: str) -> Policy:
        """The node's resolved policy (`GraphSpec.policy_for`, cached)."""
        found = self._policies.get(name)
        if found is None:
            found = self._policies[name] = self._spec.policy_for(self._known(name))
        return found

    def successors(self, name: str) -> tuple[str, ...]:
        """Nodes that wait directly on `name`, in declaration order."""
        return self._succs[self._known(name)]

    def choices(self, name: str) -> tuple[str, ...]:
        """What `name` may choose with `Next`: its successors, and its loop's target."""
        loop = self.loops.get(name)
        succs = self.successors(name)
        return succs if loop is None else (*succs, loop.to)

    def loop_body(self, decider: str) -> tuple[str, ...]:
        """The nodes a pass of `decider`'s loop runs again: those on paths from the loop's
        target to the decider, both included, in order."""
        return self._bodies[decider]

    def predecessors(self, name: str) -> tuple[str, ...]:
        """Nodes `name` waits on directly, as declared in its `after`."""
        return self._preds[self._known(name)]

    def downstream(self, name: str) -> set[str]:
        """Every node that transitively waits on `name`."""
        return self._reach(name, self._succs)

    def upstream(self, name: str) -> set[str]:
        """Every node `name` transitively waits on."""
        return self._reach(name, self._preds)

    def _reach(self, name: str, edges: dict[str, tuple[str, ...]]) -> set[str]:
        seen: set[str] = set()
        todo = list(edges[self._known(name)])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(edges[node])
        return seen

    def _known(self, name: str) -> str:
        """The graph node of `name`; a map instance `researcher[2]` is node `researcher`."""
        if name in self._rank:
            return name
        node = node_of(name)
        if node in self.maps and index_of(name) is not None:
            return node
        raise KeyError(f"no node {name!r} in the graph")
