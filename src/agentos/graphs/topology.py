"""The shape of a valid graph: roots, edges, a deterministic order, reachability."""

from __future__ import annotations

import heapq

from agentos.graphs.spec import GraphSpec
from agentos.graphs.validate import GraphProblem, GraphValidationError


class Topology:
    """Edges and orders of a graph, computed once; the graph must be acyclic."""

    def __init__(self, spec: GraphSpec) -> None:
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

    def successors(self, name: str) -> tuple[str, ...]:
        """Nodes that wait directly on `name`, in declaration order."""
        return self._succs[self._known(name)]

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
        if name not in self._rank:
            raise KeyError(f"no node {name!r} in the graph")
        return name
