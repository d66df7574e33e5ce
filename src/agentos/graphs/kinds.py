"""What each node is (an agent, a wait, a child graph; mapped or not) and its misuses."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from agentos._addresses import split_map
from agentos.graphs.problems import GraphProblem
from agentos.graphs.spec import GraphSpec, NodeSpec


def kind_problems(spec: GraphSpec, graphs: Collection[str] | None = None) -> list[GraphProblem]:
    """Every misuse of `agent`/`wait`/`graph`/`map`/`max_parallel`, with its location;
    `graph:` names are checked only when the registered `graphs` are given (a mapping of
    their specs also checks a map over a graph node's output)."""
    names = frozenset(n.name for n in spec.nodes)
    preds = {n.name: [d for d in n.after if d != n.name] for n in spec.nodes}
    problems: list[GraphProblem] = []
    for i, node in enumerate(spec.nodes):
        where = f"nodes[{i}]"
        problems += _one_kind(where, node)
        problems += _map(where, node, names, preds)
        problems += _map_field(where, node, spec, graphs)
        if graphs is not None and node.graph is not None and node.graph not in graphs:
            problems.append(
                GraphProblem(
                    f"{where}.graph",
                    f"node {node.name!r} runs graph {node.graph!r}, which is not registered",
                )
            )
        if node.graph is not None and node.graph == spec.name:
            problems.append(
                GraphProblem(f"{where}.graph", f"node {node.name!r} runs its own graph")
            )
    return problems


def _one_kind(where: str, node: NodeSpec) -> list[GraphProblem]:
    kinds = [k for k in ("agent", "wait", "graph") if getattr(node, k) is not None]
    if len(kinds) < 2:
        return []
    if "wait" in kinds:
        return [
            GraphProblem(
                f"{where}.{kinds[0] if kinds[0] != 'wait' else kinds[1]}",
                f"node {node.name!r} waits for signal {node.wait!r}: "
                f"a wait node runs no {' or '.join(k for k in kinds if k != 'wait')} "
                "(drop one of them)",
            )
        ]
    return [
        GraphProblem(
            f"{where}.graph",
            f"node {node.name!r} runs graph {node.graph!r}: it runs no agent (drop one)",
        )
    ]


def _map(
    where: str, node: NodeSpec, names: frozenset[str], preds: Mapping[str, list[str]]
) -> list[GraphProblem]:
    if node.map is None:
        if node.max_parallel is not None:
            return [
                GraphProblem(
                    f"{where}.max_parallel",
                    f"node {node.name!r} sets max_parallel without a `map`",
                )
            ]
        return []
    problems: list[GraphProblem] = []
    if node.wait is not None:
        problems.append(GraphProblem(f"{where}.map", f"wait node {node.name!r} cannot be a map"))
    if node.graph is not None:
        problems.append(
            GraphProblem(
                f"{where}.map",
                f"node {node.name!r} runs a graph: a map of child runs is not supported",
            )
        )
    if node.loop is not None:
        problems.append(
            GraphProblem(
                f"{where}.loop",
                f"map node {node.name!r} cannot decide a loop (its instances' choices are not one)",
            )
        )
    found = split_map(node.map, names)
    if found is None:
        problems.append(
            GraphProblem(
                f"{where}.map",
                f"map {node.map!r} of node {node.name!r} names no node: use NODE.FIELD",
            )
        )
    elif found[0] not in ancestors(node.name, preds):
        problems.append(
            GraphProblem(
                f"{where}.map",
                f"map {node.map!r}: node {node.name!r} does not wait on {found[0]!r} "
                f"(add it to `after`)",
            )
        )
    return problems


def _map_field(
    where: str, node: NodeSpec, spec: GraphSpec, graphs: Collection[str] | None
) -> list[GraphProblem]:
    """A map over a field its source cannot produce, where that is knowable: a map node's
    output has `items` and `failed`; a graph node's has one field per node of its graph."""
    found = split_map(node.map, frozenset(n.name for n in spec.nodes)) if node.map else None
    if found is None:
        return []
    source = next(n for n in spec.nodes if n.name == found[0])
    fields: set[str] | None = None
    if source.map is not None:
        fields = {"items", "failed"}
    elif source.graph is not None and isinstance(graphs, Mapping):
        child = graphs.get(source.graph)
        if isinstance(child, GraphSpec):
            fields = {n.name for n in child.nodes}
    if fields is None or found[1] in fields:
        return []
    return [
        GraphProblem(
            f"{where}.map",
            f"map {node.map!r}: {found[0]!r} produces no field {found[1]!r} "
            f"(it has {', '.join(sorted(fields))})",
        )
    ]


def ancestors(name: str, preds: Mapping[str, list[str]]) -> set[str]:
    """Every node `name` waits on, transitively."""
    seen: set[str] = set()
    todo = list(preds.get(name, ()))
    while todo:
        node = todo.pop()
        if node not in seen and node in preds:
            seen.add(node)
            todo.extend(preds[node])
    return seen
