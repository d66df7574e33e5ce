"""The `loop:` vocabulary: a bounded back edge from a decider to a node upstream of it."""

from __future__ import annotations

from typing import Any

import pytest

from agentos.graphs import GraphProblem, GraphValidationError, load_graph, validate
from agentos.graphs.spec import GraphSpec
from agentos.graphs.topology import Topology

LOOP = {"to": "writer", "max_iterations": 3}


def graph(*nodes: dict[str, Any]) -> GraphSpec:
    return load_graph({"name": "g", "nodes": list(nodes)})


def node(name: str, *after: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "agent": "noop", "after": list(after), **extra}


def review(**loop: Any) -> GraphSpec:
    return graph(
        node("draft"),
        node("writer", "draft"),
        node("reviewer", "writer", loop=loop),
        node("publish", "reviewer"),
    )


def test_a_bounded_loop_to_an_upstream_node_is_valid() -> None:
    spec = review(**LOOP)
    assert validate(spec) == []
    topo = Topology(spec)
    assert topo.order == ("draft", "writer", "reviewer", "publish")  # the back edge is not in it
    assert topo.loop_body("reviewer") == ("writer", "reviewer")
    assert topo.choices("reviewer") == ("publish", "writer")
    assert topo.choices("writer") == ("reviewer",)


def test_the_body_is_every_node_between_the_target_and_the_decider() -> None:
    spec = graph(
        node("writer"),
        node("check", "writer"),
        node("lint", "writer"),
        node("side", "writer"),  # not on a path to the reviewer
        node("reviewer", "check", "lint", loop=LOOP),
    )
    assert validate(spec) == []
    assert Topology(spec).loop_body("reviewer") == ("writer", "check", "lint", "reviewer")


def test_a_loop_without_a_bound_is_refused_with_its_location() -> None:
    with pytest.raises(GraphValidationError) as err:
        review(to="writer")
    assert err.value.problems == [GraphProblem("nodes[2].loop.max_iterations", "Field required")]


@pytest.mark.parametrize("bound", [0, -1, 10_001, 2.5, "many"])
def test_a_bound_is_a_positive_int_within_reason(bound: Any) -> None:
    with pytest.raises(GraphValidationError) as err:
        review(to="writer", max_iterations=bound)
    assert [p.where for p in err.value.problems] == ["nodes[2].loop.max_iterations"]


def test_an_unbounded_loop_built_without_validation_is_reported() -> None:
    spec = review(**LOOP)
    nodes = list(spec.nodes)
    loop = nodes[2].loop
    assert loop is not None
    nodes[2] = nodes[2].model_copy(update={"loop": loop.model_copy(update={"max_iterations": 0})})
    assert validate(spec.model_copy(update={"nodes": nodes})) == [
        GraphProblem(
            "nodes[2].loop.max_iterations",
            "loop reviewer -> writer needs a bound: max_iterations >= 1",
        )
    ]


def test_a_loop_target_that_is_not_upstream_is_refused() -> None:
    spec = review(to="publish", max_iterations=2)
    assert validate(spec) == [
        GraphProblem(
            "nodes[2].loop.to",
            "loop reviewer -> publish: 'publish' is not a node 'reviewer' waits on "
            "(a loop goes back upstream)",
        )
    ]
    with pytest.raises(GraphValidationError):
        Topology(spec)


@pytest.mark.parametrize("target", ["reviewer", "nobody"])
def test_a_loop_to_itself_or_to_no_node_is_refused(target: str) -> None:
    problems = validate(review(to=target, max_iterations=2))
    assert [p.where for p in problems] == ["nodes[2].loop.to"]


def test_a_cycle_without_a_loop_edge_is_still_refused_with_its_path() -> None:
    spec = graph(node("writer", "reviewer"), node("reviewer", "writer", loop=LOOP))
    problems = validate(spec)
    assert GraphProblem("nodes[0]", "cycle: writer -> reviewer -> writer") in problems


def test_loops_that_share_nodes_are_refused() -> None:
    spec = graph(
        node("a"),
        node("b", "a"),
        node("c", "b", loop={"to": "a", "max_iterations": 2}),
        node("d", "c", loop={"to": "b", "max_iterations": 2}),
    )
    assert validate(spec) == [
        GraphProblem(
            "nodes[3].loop",
            "loop d -> b overlaps the loop of 'c' at 'b' (loops may not share nodes)",
        )
    ]


def test_a_spec_without_loops_dumps_as_before() -> None:
    spec = graph(node("a"))
    assert "loop" not in spec.model_dump(mode="json")["nodes"][0]
    assert review(**LOOP).model_dump(mode="json")["nodes"][2]["loop"] == LOOP
