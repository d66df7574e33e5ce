"""Map, wait and graph nodes: every misuse is reported with its location."""

from __future__ import annotations

from typing import Any

import pytest

from agentos._addresses import index_of, node_of, split_map, split_step
from agentos.graphs import GraphValidationError, load_graph, validate
from agentos.graphs.topology import Topology


def graph(**researcher: Any) -> dict[str, Any]:
    return {
        "name": "g",
        "nodes": [
            {"name": "planner", "agent": "x:y"},
            {"name": "other", "agent": "x:y"},
            {"name": "researcher", "after": ["planner"], **researcher},
        ],
    }


def problems(doc: dict[str, Any], graphs: list[str] | None = None) -> list[tuple[str, str]]:
    return [(p.where, p.message) for p in validate(load_graph(doc), graphs=graphs)]


def test_a_map_over_an_upstream_node_is_valid() -> None:
    doc = graph(agent="x:y", map="planner.questions", max_parallel=2)
    assert problems(doc) == []
    assert Topology(load_graph(doc)).maps == {"researcher": ("planner", "questions")}


@pytest.mark.parametrize(
    ("extra", "where", "words"),
    [
        ({"agent": "x:y", "map": "other.questions"}, "nodes[2].map", "does not wait on 'other'"),
        ({"agent": "x:y", "map": "nobody.questions"}, "nodes[2].map", "names no node"),
        ({"agent": "x:y", "max_parallel": 3}, "nodes[2].max_parallel", "without a `map`"),
        ({"wait": "go", "map": "planner.q"}, "nodes[2].map", "cannot be a map"),
        ({"wait": "go", "agent": "x:y"}, "nodes[2].agent", "a wait node runs no agent"),
        ({"graph": "child", "agent": "x:y"}, "nodes[2].graph", "runs no agent"),
        ({"graph": "child", "map": "planner.q"}, "nodes[2].map", "not supported"),
    ],
)
def test_misuse_is_refused_with_its_location(extra: dict[str, Any], where: str, words: str) -> None:
    found = problems(graph(**extra))
    assert any(loc == where and words in msg for loc, msg in found), found


def test_a_graph_node_must_name_a_registered_graph() -> None:
    doc = graph(graph="notify-team")
    assert problems(doc, graphs=["notify-team"]) == []
    assert problems(doc, graphs=["other"]) == [
        ("nodes[2].graph", "node 'researcher' runs graph 'notify-team', which is not registered")
    ]


def test_a_map_is_never_a_loop_decider() -> None:
    doc = graph(agent="x:y", map="planner.q", loop={"to": "planner", "max_iterations": 2})
    assert ("nodes[2].loop") in [loc for loc, _ in problems(doc)]


def test_a_bad_max_parallel_is_refused_when_loaded() -> None:
    with pytest.raises(GraphValidationError):
        load_graph(graph(agent="x:y", map="planner.q", max_parallel=0))


def test_addresses() -> None:
    assert node_of("researcher[2]#3") == "researcher" and node_of("writer#2") == "writer"
    assert index_of("researcher[2]") == 2 and index_of("researcher") is None
    assert split_step("writer#2") == ("writer", 2)
    assert split_step("researcher[1]") == ("researcher[1]", None)
    assert split_map("stage.one.items", {"stage.one", "stage"}) == ("stage.one", "items")
    assert split_map("nobody.items", {"stage"}) is None


def test_a_map_over_a_field_its_source_cannot_produce_is_refused_where_knowable() -> None:
    child = load_graph({"name": "child", "nodes": [{"name": "only", "agent": "x:y"}]})
    doc = {
        "name": "g",
        "nodes": [
            {"name": "team", "graph": "child"},
            {"name": "each", "agent": "x:y", "after": ["team"], "map": "team.nope"},
            {"name": "src", "agent": "x:y"},
            {"name": "fan", "agent": "x:y", "after": ["src"], "map": "src.items"},
            {"name": "again", "agent": "x:y", "after": ["fan"], "map": "fan.results"},
        ],
    }
    found = [(p.where, p.message) for p in validate(load_graph(doc), graphs={"child": child})]
    assert found == [
        ("nodes[1].map", "map 'team.nope': 'team' produces no field 'nope' (it has only)"),
        (
            "nodes[4].map",
            "map 'fan.results': 'fan' produces no field 'results' (it has failed, items)",
        ),
    ]
    doc["nodes"][1]["map"] = "team.only"
    doc["nodes"][4]["map"] = "fan.items"
    assert validate(load_graph(doc), graphs={"child": child}) == []
    # an agent's output is not knowable: any field of it is accepted
    assert validate(load_graph(doc), graphs=["child"]) == []
