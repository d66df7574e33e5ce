"""Graph validation: gather every problem of a graph before any run starts."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from pydantic import ValidationError

from agentos.agents.registry import AgentRegistry, UnknownAgentError
from agentos.context.profile import ContextProfile
from agentos.graphs.kinds import ancestors, kind_problems
from agentos.graphs.policy import Policy
from agentos.graphs.problems import GraphProblem as GraphProblem
from agentos.graphs.problems import GraphValidationError as GraphValidationError
from agentos.graphs.spec import GraphSpec


def validate(
    spec: GraphSpec,
    agents: AgentRegistry | None = None,
    policies: Mapping[str, Policy] = {},
    profiles: Mapping[str, ContextProfile] = {},
    graphs: Collection[str] | None = None,
) -> list[GraphProblem]:
    """Every problem of `spec`; agents are checked only when a registry is given, and
    `graph:` names only when the registered `graphs` are."""
    problems = _structure(spec)
    problems += kind_problems(spec, graphs)
    problems += _loops(spec)
    problems += _references(spec, agents, policies, profiles)
    problems += _policy_values(spec, policies)
    return problems


def check(
    spec: GraphSpec,
    agents: AgentRegistry | None = None,
    policies: Mapping[str, Policy] = {},
    profiles: Mapping[str, ContextProfile] = {},
    graphs: Collection[str] | None = None,
) -> None:
    """Raise GraphValidationError if `validate` finds any problem."""
    problems = validate(spec, agents, policies, profiles, graphs)
    if problems:
        raise GraphValidationError(problems)


def _structure(spec: GraphSpec) -> list[GraphProblem]:
    problems: list[GraphProblem] = []
    index: dict[str, int] = {}
    for i, node in enumerate(spec.nodes):
        if node.name in index:
            first = index[node.name]
            problems.append(
                GraphProblem(
                    f"nodes[{i}]", f"duplicate node name {node.name!r} (first at nodes[{first}])"
                )
            )
        else:
            index[node.name] = i
    # edges in execution order (dependency -> dependant), bad ones left out
    succ: dict[str, list[str]] = {name: [] for name in index}
    for i, node in enumerate(spec.nodes):
        for j, dep in enumerate(node.after):
            where = f"nodes[{i}].after[{j}]"
            if dep == node.name:
                problems.append(GraphProblem(where, f"node {node.name!r} depends on itself"))
            elif dep not in index:
                problems.append(
                    GraphProblem(where, f"node {node.name!r} depends on unknown node {dep!r}")
                )
            elif node.name not in succ[dep]:
                succ[dep].append(node.name)
    on_cycle: set[str] = set()
    for component in _components(list(index), succ):
        path = _cycle_path(component, succ)
        on_cycle.update(component)
        problems.append(GraphProblem(f"nodes[{index[path[0]]}]", "cycle: " + " -> ".join(path)))
    reached = _schedulable(list(index), succ)
    for name in index:
        if name not in reached and name not in on_cycle:
            problems.append(
                GraphProblem(
                    f"nodes[{index[name]}]",
                    f"node {name!r} is unreachable: no root leads to it (it waits on a cycle)",
                )
            )
    return problems


def _components(names: list[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node, in declaration order."""
    order: list[str] = []
    seen: set[str] = set()
    for start in names:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(succ[start]))]
        while stack:
            node, it = stack[-1]
            nxt = next((n for n in it if n not in seen), None)
            if nxt is None:
                order.append(node)
                stack.pop()
            else:
                seen.add(nxt)
                stack.append((nxt, iter(succ[nxt])))
    pred: dict[str, list[str]] = {n: [] for n in names}
    for src, dsts in succ.items():
        for dst in dsts:
            pred[dst].append(src)
    owner: dict[str, int] = {}
    groups: list[set[str]] = []
    for root in reversed(order):
        if root in owner:
            continue
        group = {root}
        owner[root] = len(groups)
        todo = [root]
        while todo:
            for p in pred[todo.pop()]:
                if p not in owner:
                    owner[p] = len(groups)
                    group.add(p)
                    todo.append(p)
        groups.append(group)
    rank = {n: i for i, n in enumerate(names)}
    found = [sorted(g, key=rank.__getitem__) for g in groups if len(g) > 1]
    return sorted(found, key=lambda g: rank[g[0]])


def _cycle_path(component: list[str], succ: dict[str, list[str]]) -> list[str]:
    """The shortest cycle through the component's first node, closed on itself."""
    start, members = component[0], set(component)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for node in frontier:
            for s in succ[node]:
                if s == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if s in members and s not in parent:
                    parent[s] = node
                    nxt.append(s)
        frontier = nxt
    return [*component, start]  # unreachable for a strongly connected component


def _schedulable(names: list[str], succ: dict[str, list[str]]) -> set[str]:
    waiting = {n: 0 for n in names}
    for dsts in succ.values():
        for dst in dsts:
            waiting[dst] += 1
    ready = [n for n in names if waiting[n] == 0]
    done: set[str] = set()
    while ready:
        node = ready.pop()
        done.add(node)
        for s in succ[node]:
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    return done


def _loops(spec: GraphSpec) -> list[GraphProblem]:
    """A loop goes back, within a bound, to a node its decider waits on, and its body
    is no other loop's: any other cycle is refused by `_structure`."""
    preds = {n.name: [d for d in n.after if d != n.name] for n in spec.nodes}
    bodies: dict[str, str] = {}  # node -> the loop decider whose body it is in
    problems: list[GraphProblem] = []
    for i, node in enumerate(spec.nodes):
        loop = node.loop
        if loop is None:
            continue
        bound = loop.max_iterations
        if not isinstance(bound, int) or isinstance(bound, bool) or bound < 1:
            problems.append(
                GraphProblem(
                    f"nodes[{i}].loop.max_iterations",
                    f"loop {node.name} -> {loop.to} needs a bound: max_iterations >= 1",
                )
            )
        above = ancestors(node.name, preds)
        if loop.to not in above:
            problems.append(
                GraphProblem(
                    f"nodes[{i}].loop.to",
                    f"loop {node.name} -> {loop.to}: {loop.to!r} is not a node "
                    f"{node.name!r} waits on (a loop goes back upstream)",
                )
            )
            continue
        body = {loop.to, node.name} | {n for n in above if loop.to in ancestors(n, preds)}
        for name in sorted(body):
            other = bodies.setdefault(name, node.name)
            if other != node.name:
                problems.append(
                    GraphProblem(
                        f"nodes[{i}].loop",
                        f"loop {node.name} -> {loop.to} overlaps the loop of {other!r} "
                        f"at {name!r} (loops may not share nodes)",
                    )
                )
                break
    return problems


def _references(
    spec: GraphSpec,
    agents: AgentRegistry | None,
    policies: Mapping[str, Policy],
    profiles: Mapping[str, ContextProfile],
) -> list[GraphProblem]:
    problems: list[GraphProblem] = []
    known_policies = set(spec.policies) | set(policies)
    known_profiles = set(spec.context_profiles) | set(profiles)
    refs = [("defaults.policy", "graph defaults", spec.defaults.policy)]
    refs += [(f"nodes[{i}].policy", f"node {n.name!r}", n.policy) for i, n in enumerate(spec.nodes)]
    for where, who, ref in refs:
        if isinstance(ref, str) and ref not in known_policies:
            problems.append(GraphProblem(where, f"{who} uses unknown policy {ref!r}"))
    for i, node in enumerate(spec.nodes):
        if node.context is not None and node.context not in known_profiles:
            problems.append(
                GraphProblem(
                    f"nodes[{i}].context",
                    f"node {node.name!r} uses unknown context profile {node.context!r}",
                )
            )
        if agents is not None and node.agent is not None:
            try:
                agents.resolve(node.agent)
            except UnknownAgentError as exc:
                problems.append(GraphProblem(f"nodes[{i}].agent", str(exc)))
    return problems


def _policy_values(spec: GraphSpec, policies: Mapping[str, Policy]) -> list[GraphProblem]:
    """Re-check policy values, catching policies built without validation."""
    found: list[tuple[str, Policy]] = [(f"policies.{k}", p) for k, p in spec.policies.items()]
    refs = [n.policy for n in spec.nodes] + [spec.defaults.policy]
    used = {r for r in refs if isinstance(r, str)}
    found += [
        (f"policies.{k}", p) for k, p in policies.items() if k in used and k not in spec.policies
    ]
    if isinstance(spec.defaults.policy, Policy):
        found.append(("defaults.policy", spec.defaults.policy))
    for i, node in enumerate(spec.nodes):
        if isinstance(node.policy, Policy):
            found.append((f"nodes[{i}].policy", node.policy))
    problems: list[GraphProblem] = []
    for where, policy in found:
        try:
            Policy.model_validate(policy.model_dump())
        except ValidationError as exc:
            for err in exc.errors():
                loc = "".join(f".{part}" for part in err["loc"])
                problems.append(GraphProblem(f"{where}{loc}", err["msg"]))
    return problems
