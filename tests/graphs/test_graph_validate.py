"""Every validation problem, with its message and location."""

from __future__ import annotations

from typing import Any

import pytest

from agentos.agents import AgentRegistry
from agentos.context.profile import ContextProfile
from agentos.graphs import (
    GraphProblem,
    GraphSpec,
    GraphValidationError,
    Policy,
    RetryPolicy,
    check,
    load_graph,
    validate,
)


def graph(*nodes: dict[str, Any], **extra: Any) -> GraphSpec:
    return load_graph({"name": "g", "nodes": list(nodes), **extra})


def node(name: str, *after: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "agent": "noop", "after": list(after), **extra}


def test_valid_graph_has_no_problems() -> None:
    spec = graph(node("a"), node("b", "a"), node("c", "a"), node("d", "b", "c"))
    assert validate(spec) == []
    check(spec)


def test_duplicate_names() -> None:
    spec = graph(node("a"), node("a"))
    assert validate(spec) == [
        GraphProblem("nodes[1]", "duplicate node name 'a' (first at nodes[0])")
    ]


def test_edge_to_nowhere() -> None:
    spec = graph(node("a"), node("b", "a", "ghost"))
    assert validate(spec) == [
        GraphProblem("nodes[1].after[1]", "node 'b' depends on unknown node 'ghost'")
    ]


def test_self_dependency() -> None:
    spec = graph(node("a"), node("b", "b"))
    assert validate(spec) == [GraphProblem("nodes[1].after[0]", "node 'b' depends on itself")]


def test_cycle_path() -> None:
    spec = graph(node("start"), node("a", "start", "c"), node("b", "a"), node("c", "b"))
    assert validate(spec) == [GraphProblem("nodes[1]", "cycle: a -> b -> c -> a")]


def test_two_cycles_each_reported() -> None:
    spec = graph(node("r"), node("a", "b"), node("b", "a"), node("x", "y", "r"), node("y", "x"))
    messages = [p.message for p in validate(spec)]
    assert messages == ["cycle: a -> b -> a", "cycle: x -> y -> x"]


def test_unreachable_behind_cycle() -> None:
    spec = graph(node("r"), node("a", "b"), node("b", "a"), node("tail", "b", "r"))
    problems = validate(spec)
    assert problems[0].message == "cycle: a -> b -> a"
    assert problems[1] == GraphProblem(
        "nodes[3]", "node 'tail' is unreachable: no root leads to it (it waits on a cycle)"
    )
    assert len(problems) == 2


def test_unknown_agent_only_with_registry() -> None:
    agents = AgentRegistry()
    agents.register("noop", lambda ctx: None)
    spec = graph(node("a"), {"name": "b", "agent": "ghost"}, {"name": "c", "agent": "json:dumps"})
    assert validate(spec) == []
    problems = validate(spec, agents)
    assert [p.where for p in problems] == ["nodes[1].agent"]
    assert "unknown agent 'ghost'" in problems[0].message


def test_unknown_policy_names() -> None:
    spec = graph(node("a", policy="fast"), defaults={"policy": "slow"})
    assert validate(spec) == [
        GraphProblem("defaults.policy", "graph defaults uses unknown policy 'slow'"),
        GraphProblem("nodes[0].policy", "node 'a' uses unknown policy 'fast'"),
    ]
    assert validate(spec, policies={"fast": Policy(), "slow": Policy()}) == []


def test_unknown_context_profile() -> None:
    spec = graph(node("a", context="tiny"))
    assert validate(spec) == [
        GraphProblem("nodes[0].context", "node 'a' uses unknown context profile 'tiny'")
    ]
    assert validate(spec, profiles={"tiny": ContextProfile(budget=100)}) == []


def test_nonsensical_policy_built_without_validation() -> None:
    bad = Policy.model_construct(
        retry=RetryPolicy.model_construct(initial_interval=5, max_interval=1)
    )
    spec = graph(node("a", policy="p"))
    problems = validate(spec, policies={"p": bad, "unused": bad})
    assert len(problems) == 1
    assert problems[0].where == "policies.p.retry"
    assert "max_interval (1.0) is below initial_interval (5.0)" in problems[0].message


def test_many_problems_reported_together() -> None:
    spec = graph(
        node("a"),
        node("a"),
        node("b", "nowhere"),
        node("c", "c"),
        node("d", "e"),
        node("e", "d"),
        node("f", "e", policy="nope", context="nada"),
    )
    with pytest.raises(GraphValidationError) as info:
        check(spec)
    lines = str(info.value).splitlines()
    assert lines == [
        "nodes[1]: duplicate node name 'a' (first at nodes[0])",
        "nodes[2].after[0]: node 'b' depends on unknown node 'nowhere'",
        "nodes[3].after[0]: node 'c' depends on itself",
        "nodes[4]: cycle: d -> e -> d",
        "nodes[6]: node 'f' is unreachable: no root leads to it (it waits on a cycle)",
        "nodes[6].policy: node 'f' uses unknown policy 'nope'",
        "nodes[6].context: node 'f' uses unknown context profile 'nada'",
    ]
    assert len(info.value.problems) == 7
